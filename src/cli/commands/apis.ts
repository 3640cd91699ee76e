import { parseArgs } from 'node:util';
import { NotFound } from '../../domain/errors.ts';
import { API_ACCESS, type ApiAccess, type ResourceServer } from '../../domain/resource-servers.ts';
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

/** `open` or `roles`, as a command line gives it. */
function parseAccess(command: string, value: string | undefined): ApiAccess | undefined {
  if (value === undefined) return undefined;
  if (!(API_ACCESS as readonly string[]).includes(value)) throw new UsageError(`${command}: access must be ${API_ACCESS.join(' or ')}, got "${value}"`);
  return value as ApiAccess;
}

function accessText(api: ResourceServer): string {
  return api.access === 'open' ? 'open (every user)' : 'roles';
}

function apiFields(api: ResourceServer): Array<[string, string]> {
  return [
    ['identifier', api.identifier],
    ['name', api.name],
    ['default', yesNo(api.isDefault)],
    ['access', accessText(api)],
    ['token ttl', ttlText(api)],
    ...api.scopes.map(({ scope, description }): [string, string] => ['scope', description ? `${scope}  (${description})` : scope]),
    ['introspectors', listOf(api.introspectors, 'none (only each token\'s own client)')],
  ];
}

const ACCESS = `Access: with roles (the default), a user is granted only the API's scopes that the user's
roles give (postern role create, postern role grant), and a client getting a token for itself
(client credentials) only those its own roles give. With open, every user and client may be
granted every scope, as before roles existed; APIs registered before roles stay open until
postern api set-access URI roles.`;

const INTROSPECTORS = `Introspection (RFC 7662) answers a client about a token only when the token was issued to
that client, or when it is an access token for an API that names the client as one of its
introspectors: name the confidential clients your API authenticates with at introspection.
Everyone else is told the token is inactive.`;

const create: Command = {
  summary: 'register an API that accepts JWT access tokens',
  usage: `Usage: postern api create --identifier URI --name NAME --scope SCOPE[=DESCRIPTION]... [options]

Registers an API (an RFC 8707 resource server). Applications ask for its scopes and get
RFC 9068 JWT access tokens whose audience is the identifier; the API verifies them against
the issuer's JWKS, or at introspection.

${ACCESS}

${INTROSPECTORS}

Options:
  --identifier URI          the API's absolute URI, used as the token audience (required)
  --name NAME               name shown on the consent page (required)
  --scope NAME[=TEXT]       a scope and its consent-page description (repeat; at least one)
  --access roles|open       who may be granted its scopes (default: roles; see above)
  --default                 tokens for this API are issued when a client asks for its scopes
                            without a resource parameter (replaces the previous default)
  --access-token-ttl SECS   access token lifetime for this API (default: the server's)
  --introspector CLIENT_ID  a confidential client that may introspect this API's access
                            tokens (repeat; see postern api set-introspectors)
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
          access: { type: 'string' },
          default: { type: 'boolean' },
          'access-token-ttl': { type: 'string' },
          introspector: { type: 'string', multiple: true },
        },
      }),
    );
    const identifier = requireOption('api create', values.identifier, '--identifier');
    const name = requireOption('api create', values.name, '--name');
    if (!values.scope?.length) throw new UsageError('api create: at least one --scope is required');
    const scopes = values.scope.map(parseScope);
    const accessTokenTtl = seconds('api create', values['access-token-ttl'], '--access-token-ttl');
    const access = parseAccess('api create', values.access);
    const api = await withServices(async ({ resourceServers, audit }) => {
      const created = await resourceServers.create({ identifier, name, scopes, access, isDefault: values.default, accessTokenTtl, introspectors: values.introspector });
      await audit.record({ type: 'resource_server.created', details: { via: 'cli', identifier, access: created.access } });
      return created;
    });
    if (values.json) return writeJson(io.stdout, api);
    io.stdout.write(formatFields(apiFields(api)));
  },
};

const setIntrospectors: Command = {
  summary: 'name the clients that may introspect an API\'s access tokens',
  usage: `Usage: postern api set-introspectors URI [CLIENT_ID...] [--json]

Replaces the clients that may introspect the access tokens issued for the API. With no
CLIENT_ID, none may but each token's own client.

${INTROSPECTORS}

Example:
  postern api set-introspectors https://api.example.com 3f2a…9c
`,
  async run(args, { io }) {
    const { values, positionals } = parseOrUsage('api set-introspectors', () =>
      parseArgs({ args, strict: true, allowPositionals: true, options: COMMON_OPTIONS }),
    );
    const [identifier, ...clientIds] = positionals;
    if (identifier === undefined) throw new UsageError('api set-introspectors: missing URI');
    const api = await withServices(async ({ resourceServers, audit }) => {
      const updated = await resourceServers.setIntrospectors(identifier, clientIds);
      await audit.record({ type: 'resource_server.introspectors_set', details: { via: 'cli', identifier, introspectors: updated.introspectors } });
      return updated;
    });
    if (values.json) return writeJson(io.stdout, api);
    io.stdout.write(formatFields(apiFields(api)));
  },
};

const setAccess: Command = {
  summary: 'open an API to every user, or limit it to what roles give',
  usage: `Usage: postern api set-access URI roles|open [--json]

${ACCESS}

A running server applies the change to its next authorizations and token requests within
POSTERN_CACHE_TTL (30 s unless set), and a user's next refresh narrows accordingly.

Example:
  postern api set-access https://api.example.com roles
`,
  async run(args, { io }) {
    const { values, positionals } = parseOrUsage('api set-access', () =>
      parseArgs({ args, strict: true, allowPositionals: true, options: COMMON_OPTIONS }),
    );
    const [identifier, value, ...rest] = positionals;
    if (identifier === undefined || value === undefined || rest.length > 0) throw new UsageError('api set-access: expected URI and roles or open');
    const access = parseAccess('api set-access', value)!;
    const api = await withServices(async ({ resourceServers, audit }) => {
      const updated = await resourceServers.setAccess(identifier, access);
      await audit.record({ type: 'resource_server.access_set', details: { via: 'cli', identifier, access } });
      return updated;
    });
    if (values.json) return writeJson(io.stdout, api);
    io.stdout.write(formatFields(apiFields(api)));
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
        ['IDENTIFIER', 'NAME', 'DEFAULT', 'ACCESS', 'TOKEN TTL', 'SCOPES', 'INTROSPECTORS'],
        all.map((api) => [api.identifier, api.name, yesNo(api.isDefault), api.access, ttlText(api), listOf(api.scopes.map(({ scope }) => scope)), listOf(api.introspectors)]),
      ),
    );
  },
};

const remove: Command = {
  summary: 'delete an API and its scopes',
  usage: `Usage: postern api delete URI [--json]

Deletes an API and its scopes, and the permissions on it that roles gave. Tokens already
issued for it verify until they expire.
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
  commands: { create, list, 'set-access': setAccess, 'set-introspectors': setIntrospectors, delete: remove },
};
