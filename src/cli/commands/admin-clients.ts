import { parseArgs } from 'node:util';
import { loadConfig } from '../../config.ts';
import { ADMIN_SCOPES, createAdminClient, type AdminScope } from '../../domain/admin-access.ts';
import { COMMON_OPTIONS, parseOrUsage } from '../args.ts';
import type { Command, CommandGroup } from '../command.ts';
import { UsageError } from '../errors.ts';
import { withServices } from '../open-services.ts';
import { formatFields, listOf, writeJson } from '../output.ts';

const SECRET_NOTE = 'Store the client secret now: it is shown only this once and cannot be shown again.';
const SCOPE_NAMES: readonly string[] = ADMIN_SCOPES.map(({ scope }) => scope);

const create: Command = {
  summary: 'register a client that may call the admin API (/admin/v1)',
  usage: `Usage: postern admin-client create [--name NAME] [--scope SCOPE]... [--json]

Registers a client-credentials client for the admin API and prints its credentials once. The
admin API (audience POSTERN_ISSUER/admin/v1) is registered first if it is not yet. Without
--scope the client holds the postern-admin role, which gives every admin scope; with --scope it
holds a role of its own giving just those.

Scopes: ${SCOPE_NAMES.join(', ')}

Options:
  --name NAME     the client's name (default "Postern admin")
  --scope SCOPE   an admin scope the client may use (repeat; default: all)
  --json          print JSON (with clientSecret) instead of text

Then: curl -u CLIENT_ID:SECRET -d grant_type=client_credentials \\
        -d resource=ISSUER/admin/v1 -d scope='admin:users:read' ISSUER/token
`,
  async run(args, { io }) {
    const { values } = parseOrUsage('admin-client create', () =>
      parseArgs({ args, strict: true, options: { ...COMMON_OPTIONS, name: { type: 'string' }, scope: { type: 'string', multiple: true } } }),
    );
    for (const scope of values.scope ?? []) {
      if (!SCOPE_NAMES.includes(scope)) throw new UsageError(`admin-client create: unknown scope "${scope}" (one of ${SCOPE_NAMES.join(', ')})`);
    }
    const { issuer } = loadConfig();
    const created = await withServices((services) =>
      createAdminClient(services, { issuer, name: values.name, scopes: values.scope as AdminScope[] | undefined, actor: 'cli' }),
    );
    if (values.json) {
      writeJson(io.stdout, { clientId: created.client.clientId, clientSecret: created.clientSecret, audience: created.audience, role: created.role, scopes: created.scopes });
      io.stderr.write(`${SECRET_NOTE}\n`);
      return;
    }
    io.stdout.write(
      formatFields([
        ['client id', created.client.clientId],
        ['client secret', created.clientSecret],
        ['audience', created.audience],
        ['role', created.role],
        ['scopes', listOf(created.scopes)],
      ]),
    );
    io.stdout.write(`\n${SECRET_NOTE}\n`);
  },
};

export const adminClientCommands: CommandGroup = {
  summary: 'clients of the admin API',
  commands: { create },
};
