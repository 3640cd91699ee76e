import { parseArgs } from 'node:util';
import { InvalidRequest, NotFound } from '../../domain/errors.ts';
import type { ResourceServer } from '../../domain/resource-servers.ts';
import type { Permission, Role, RoleDetails, RoleHolder } from '../../domain/roles.ts';
import type { Services } from '../../services.ts';
import { findAccount } from '../account-lookup.ts';
import { COMMON_OPTIONS, onePositional, parseOrUsage } from '../args.ts';
import type { Command, CommandGroup } from '../command.ts';
import { UsageError } from '../errors.ts';
import { withServices } from '../open-services.ts';
import { formatFields, formatTable, listOf, writeJson } from '../output.ts';

const ROLES = `A role bundles permissions: scopes of registered APIs. On an API whose access is roles
(postern api set-access), a user is granted only the scopes the user's roles give, and a client
getting a token for itself (client credentials) only those its own roles give; always within
what the client may ask for. A change reaches every server at once: a user's next refresh
narrows (or widens again, up to what the user consented to). Access tokens already issued keep
their scopes until they expire; introspection answers with what the roles give now.`;

const PERMISSION_HELP = `A permission is API_URI:SCOPE, e.g. https://api.example.com:read (a scope may itself
contain ':'; the API is the registered identifier the permission starts with).`;

function permissionText(permission: Permission): string {
  return `${permission.resourceServer}:${permission.scope}`;
}

/**
 * `https://api.example.com:read`: the API is the registered identifier the text starts with,
 * followed by ':' and one of its scopes (identifiers and scopes may both contain ':').
 */
export function resolvePermission(spec: string, apis: readonly ResourceServer[]): Permission {
  const candidates = apis.filter((api) => spec.startsWith(`${api.identifier}:`) && spec.length > api.identifier.length + 1);
  if (candidates.length === 0) throw new NotFound(`permission "${spec}" names no registered API (expected API_URI:SCOPE)`);
  const matches = candidates.filter((api) => api.scopes.some(({ scope }) => scope === spec.slice(api.identifier.length + 1)));
  if (matches.length > 1) throw new InvalidRequest(`permission "${spec}" is ambiguous: it reads as a scope of ${matches.map((api) => api.identifier).join(' and of ')}`);
  const api = matches[0] ?? candidates.sort((a, b) => b.identifier.length - a.identifier.length)[0]!;
  const scope = spec.slice(api.identifier.length + 1);
  if (!matches[0]) throw new InvalidRequest(`API ${api.identifier} has no scope "${scope}"`);
  return { resourceServer: api.identifier, scope };
}

async function resolvePermissions(services: Services, specs: readonly string[]): Promise<Permission[]> {
  if (specs.length === 0) return [];
  const apis = await services.resourceServers.list();
  return specs.map((spec) => resolvePermission(spec, apis));
}

function roleFields(role: Role | RoleDetails): Array<[string, string]> {
  const fields: Array<[string, string]> = [
    ['name', role.name],
    ['description', role.description ?? '-'],
    ...(role.permissions.length > 0 ? role.permissions.map((p): [string, string] => ['permission', permissionText(p)]) : [['permissions', 'none'] as [string, string]]),
  ];
  if ('users' in role && Array.isArray(role.users)) {
    fields.push(['users', listOf(role.users.map((user) => `${user.username} (${user.id})`), 'none')]);
    fields.push(['clients', listOf(role.clients.map((client) => `${client.clientId} (${client.name})`), 'none')]);
  }
  return fields;
}

const PERMISSION_OPTION = { permission: { type: 'string', multiple: true } } as const;

const create: Command = {
  summary: 'create a role: a named bundle of API scopes',
  usage: `Usage: postern role create NAME [--description TEXT] [--permission API_URI:SCOPE]... [--json]

Creates a role. NAME is 1-64 letters, digits or . _ : / -, unique whatever the case.

${ROLES}

${PERMISSION_HELP}

Options:
  --description TEXT          what the role is for
  --permission API_URI:SCOPE  a scope of a registered API the role gives (repeat)
  --json                      print JSON instead of text

Example:
  postern role create editor --description "Edits articles" \\
    --permission https://api.example.com:read --permission https://api.example.com:write
`,
  async run(args, { io }) {
    const { values, positionals } = parseOrUsage('role create', () =>
      parseArgs({ args, strict: true, allowPositionals: true, options: { ...COMMON_OPTIONS, ...PERMISSION_OPTION, description: { type: 'string' } } }),
    );
    const name = onePositional('role create', positionals, 'NAME');
    const role = await withServices(async (services) => {
      const permissions = await resolvePermissions(services, values.permission ?? []);
      const created = await services.roles.create({ name, description: values.description, permissions });
      await services.audit.record({ type: 'role.created', details: { via: 'cli', role: created.name, permissions: created.permissions.map(permissionText) } });
      return created;
    });
    if (values.json) return writeJson(io.stdout, role);
    io.stdout.write(formatFields(roleFields(role)));
  },
};

const setPermissions: Command = {
  summary: "replace a role's permissions",
  usage: `Usage: postern role set-permissions NAME [--permission API_URI:SCOPE]... [--json]

Replaces the scopes the role gives; with no --permission it gives none. Everyone holding the
role gets the new permissions at their next authorization or refresh, on every server at once.

${PERMISSION_HELP}
`,
  async run(args, { io }) {
    const { values, positionals } = parseOrUsage('role set-permissions', () =>
      parseArgs({ args, strict: true, allowPositionals: true, options: { ...COMMON_OPTIONS, ...PERMISSION_OPTION } }),
    );
    const name = onePositional('role set-permissions', positionals, 'NAME');
    const role = await withServices(async (services) => {
      const permissions = await resolvePermissions(services, values.permission ?? []);
      const updated = await services.roles.setPermissions(name, permissions);
      await services.audit.record({ type: 'role.permissions_set', details: { via: 'cli', role: updated.name, permissions: updated.permissions.map(permissionText) } });
      return updated;
    });
    if (values.json) return writeJson(io.stdout, role);
    io.stdout.write(formatFields(roleFields(role)));
  },
};

const list: Command = {
  summary: 'list roles',
  usage: `Usage: postern role list [--json]

Lists roles by name, with their permissions and how many users and clients hold each.
`,
  async run(args, { io }) {
    const { values } = parseOrUsage('role list', () => parseArgs({ args, strict: true, options: COMMON_OPTIONS }));
    const all = await withServices(({ roles }) => roles.list());
    if (values.json) return writeJson(io.stdout, all);
    if (all.length === 0) return void io.stdout.write('no roles\n');
    io.stdout.write(
      formatTable(
        ['NAME', 'DESCRIPTION', 'USERS', 'CLIENTS', 'PERMISSIONS'],
        all.map((role) => [role.name, role.description ?? '-', String(role.users), String(role.clients), listOf(role.permissions.map(permissionText))]),
      ),
    );
  },
};

const show: Command = {
  summary: 'show a role, with the users and clients holding it',
  usage: `Usage: postern role show NAME [--json]

Shows a role: its permissions and the users and clients that hold it.
`,
  async run(args, { io }) {
    const { values, positionals } = parseOrUsage('role show', () =>
      parseArgs({ args, strict: true, allowPositionals: true, options: COMMON_OPTIONS }),
    );
    const name = onePositional('role show', positionals, 'NAME');
    const role = await withServices(({ roles }) => roles.show(name));
    if (values.json) return writeJson(io.stdout, role);
    io.stdout.write(formatFields(roleFields(role)));
  },
};

const remove: Command = {
  summary: 'delete a role; its holders lose what it gave',
  usage: `Usage: postern role delete NAME [--json]

Deletes a role. Its users and clients lose what it gave them at their next authorization or
refresh, on every server at once.
`,
  async run(args, { io }) {
    const { values, positionals } = parseOrUsage('role delete', () =>
      parseArgs({ args, strict: true, allowPositionals: true, options: COMMON_OPTIONS }),
    );
    const name = onePositional('role delete', positionals, 'NAME');
    const deleted = await withServices(async ({ roles, audit }) => {
      const role = await roles.show(name);
      await roles.delete(role.name);
      await audit.record({ type: 'role.deleted', details: { via: 'cli', role: role.name, users: role.users.length, clients: role.clients.length } });
      return role;
    });
    if (values.json) return writeJson(io.stdout, { deleted: true, name: deleted.name });
    io.stdout.write(`deleted role ${deleted.name}\n`);
  },
};

interface NamedHolder {
  holder: RoleHolder;
  /** how the output names it */
  label: string;
  json: { user: { id: string; username: string } } | { client: string };
}

const HOLDER_OPTIONS = { user: { type: 'string' }, client: { type: 'string' } } as const;

async function namedHolder(services: Services, values: { user?: string | undefined; client?: string | undefined }): Promise<NamedHolder> {
  if (values.client !== undefined) {
    return { holder: { kind: 'client', id: values.client }, label: `client ${values.client}`, json: { client: values.client } };
  }
  const account = await findAccount(services.accounts, values.user!);
  return { holder: { kind: 'account', id: account.id }, label: `user ${account.username}`, json: { user: { id: account.id, username: account.username } } };
}

function holderOptions(command: string, values: { user?: string | undefined; client?: string | undefined }): void {
  if ((values.user === undefined) === (values.client === undefined)) throw new UsageError(`${command}: give exactly one of --user ID|USERNAME|EMAIL and --client CLIENT_ID`);
}

function grantOrRevoke(verb: 'grant' | 'revoke'): Command {
  const command = `role ${verb}`;
  const granting = verb === 'grant';
  return {
    summary: granting ? 'give a role to a user or a client' : 'take a role from a user or a client',
    usage: `Usage: postern role ${verb} NAME --user ID|USERNAME|EMAIL [--json]
       postern role ${verb} NAME --client CLIENT_ID [--json]

${
  granting
    ? `Gives the role to a user, or to a client for the tokens it gets for itself (client credentials;
a client that does not use them is refused). The user's next authorization or refresh gets what
the role gives, up to what the user consented to; a new scope is asked for at the next sign-in.`
    : `Takes the role from a user or a client. Its next refresh or token no longer gets what the role
gave; access tokens already issued keep it until they expire, and introspection answers
without it at once.`
}

Options:
  --user ID|USERNAME|EMAIL   the user
  --client CLIENT_ID         the client
  --json                     print JSON instead of text
`,
    async run(args, { io }) {
      const { values, positionals } = parseOrUsage(command, () =>
        parseArgs({ args, strict: true, allowPositionals: true, options: { ...COMMON_OPTIONS, ...HOLDER_OPTIONS } }),
      );
      const name = onePositional(command, positionals, 'NAME');
      holderOptions(command, values);
      const outcome = await withServices(async (services) => {
        const named = await namedHolder(services, values);
        const role = (await services.roles.show(name)).name;
        const changed = granting ? await services.roles.grant(role, named.holder) : await services.roles.revoke(role, named.holder);
        if (changed) {
          await services.audit.record({
            type: granting ? 'role.granted' : 'role.revoked',
            ...(named.holder.kind === 'account' ? { accountId: named.holder.id } : { clientId: named.holder.id }),
            details: { via: 'cli', role },
          });
        }
        return { named, role, changed };
      });
      if (values.json) return writeJson(io.stdout, { role: outcome.role, ...outcome.named.json, [granting ? 'granted' : 'revoked']: outcome.changed });
      const { label } = outcome.named;
      if (granting) io.stdout.write(outcome.changed ? `granted role ${outcome.role} to ${label}\n` : `${label} already holds role ${outcome.role}\n`);
      else io.stdout.write(outcome.changed ? `revoked role ${outcome.role} from ${label}\n` : `${label} does not hold role ${outcome.role}\n`);
    },
  };
}

export const roleCommands: CommandGroup = {
  summary: 'roles: bundles of API scopes held by users and clients',
  commands: { create, list, show, 'set-permissions': setPermissions, delete: remove, grant: grantOrRevoke('grant'), revoke: grantOrRevoke('revoke') },
};
