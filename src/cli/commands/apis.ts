import { parseArgs } from 'node:util';
import { NotFound } from '../../domain/errors.ts';
import type { ResourceServer } from '../../domain/resource-servers.ts';
import { COMMON_OPTIONS, onePositional, parseOrUsage, seconds, requireOption } from '../args.ts';
import type { Command, CommandGroup } from '../command.ts';
import { UsageError } from '../errors.ts';
import { withServices } from '../open-services.ts';
import { formatFields, formatTable, listOf, writeJson, yesNo } from '../output.ts';

/** `read` or `read=Read your data`: the description is what the consent page shows. */
function parseScope(spec: string): { scope: string; description: string | undefined } {
  const separator = spec.indexOf('=');
  const scope = (separator === -1 ? spec : spec.slice(0, separator)).trim();
  const description = separator === -1 ? undefined : spec.slice(separator + 1).trim() || undefined;
  if (scope === '') throw new UsageError(`api create: --scope "${spec}" has no scope name (expected name or name=description)`);
  return { scope, description };
}

function ttlText(api: ResourceServer): string {
  return api.accessTokenTtl === undefined ? 'default' : `${api.accessTokenTtl}s`;
}

const create: Command = {
  summary: 'register an API that accepts JWT access tokens',
  usage: `Usage: postern api create --identifier URI --name NAME --scope SCOPE[=DESCRIPTION]... [options]

Registers an API (an RFC 8707 resource server). Applications ask for its scopes and get
RFC 9068 JWT access tokens whose audience is the identifier; the API verifies them against
the issuer's JWKS.

Options:
  --identifier URI          the API's absolute URI, used as the token audience (required)
  --name NAME               name shown on the consent page (required)
  --scope NAME[=TEXT]       a scope and its consent-page description (repeat; at least one)
  --default                 tokens for this API are issued when a client asks for its scopes
                            without a resource parameter (replaces the previous default)
  --access-token-ttl SECS   access token lifetime for this API (default: the server's)
  --json                    print JSON instead of text

Example:
  postern api create --identifier https://api.example.com --name "Example API" \\
    --scope "read=Read your data" --scope "write=Change your data" --default
`,
  async run(args, { io }) {
    const { values } = parseOrUsage('api create', () =>
      parseArgs({
        args,
        strict: true,
        options: {
          ...COMMON_OPTIONS,
          identifier: { type: 'string' },
          name: { type: 'string' },
          scope: { type: 'string', multiple: true },
          default: { type: 'boolean' },
          'access-token-ttl': { type: 'string' },
        },
      }),
    );
    const identifier = requireOption('api create', values.identifier, '--identifier');
    const name = requireOption('api create', values.name, '--name');
    if (!values.scope?.length) throw new UsageError('api create: at least one --scope is required');
    const scopes = values.scope.map(parseScope);
    const accessTokenTtl = seconds('api create', values['access-token-ttl'], '--access-token-ttl');
    const api = await withServices(async ({ resourceServers, audit }) => {
      const created = await resourceServers.create({ identifier, name, scopes, isDefault: values.default, accessTokenTtl });
      await audit.record({ type: 'resource_server.created', details: { via: 'cli', identifier } });
      return created;
    });
    if (values.json) return writeJson(io.stdout, api);
    io.stdout.write(
      formatFields([
        ['identifier', api.identifier],
        ['name', api.name],
        ['default', yesNo(api.isDefault)],
        ['token ttl', ttlText(api)],
        ...api.scopes.map(({ scope, description }): [string, string] => ['scope', description ? `${scope}  (${description})` : scope]),
      ]),
    );
  },
};

const list: Command = {
  summary: 'list registered APIs and their scopes',
  usage: `Usage: postern api list [--json]

Lists registered APIs (resource servers) and their scopes, oldest first.
`,
  async run(args, { io }) {
    const { values } = parseOrUsage('api list', () => parseArgs({ args, strict: true, options: COMMON_OPTIONS }));
    const all = await withServices(({ resourceServers }) => resourceServers.list());
    if (values.json) return writeJson(io.stdout, all);
    if (all.length === 0) return void io.stdout.write('no APIs\n');
    io.stdout.write(
      formatTable(
        ['IDENTIFIER', 'NAME', 'DEFAULT', 'TOKEN TTL', 'SCOPES'],
        all.map((api) => [api.identifier, api.name, yesNo(api.isDefault), ttlText(api), listOf(api.scopes.map(({ scope }) => scope))]),
      ),
    );
  },
};

const remove: Command = {
  summary: 'delete an API and its scopes',
  usage: `Usage: postern api delete URI [--json]

Deletes an API and its scopes. Tokens already issued for it verify until they expire.
`,
  async run(args, { io }) {
    const { values, positionals } = parseOrUsage('api delete', () =>
      parseArgs({ args, strict: true, allowPositionals: true, options: COMMON_OPTIONS }),
    );
    const identifier = onePositional('api delete', positionals, 'URI');
    await withServices(async ({ resourceServers, audit }) => {
      // looked up first: knex-pglite 0.14 answers delete() with a result object, not a count, so
      // ResourceServers.delete cannot report a missing API on embedded PGlite
      if (!(await resourceServers.find(identifier))) throw new NotFound(`no resource server ${identifier}`);
      await resourceServers.delete(identifier);
      await audit.record({ type: 'resource_server.deleted', details: { via: 'cli', identifier } });
    });
    if (values.json) return writeJson(io.stdout, { deleted: true, identifier });
    io.stdout.write(`deleted API ${identifier}\n`);
  },
};

export const apiCommands: CommandGroup = {
  summary: 'APIs (resource servers) that receive JWT access tokens',
  commands: { create, list, delete: remove },
};
