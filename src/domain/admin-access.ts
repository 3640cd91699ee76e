import type { AuditLog } from './audit.ts';
import type { ClientSummary, Clients } from './clients.ts';
import { NotFound } from './errors.ts';
import type { ResourceServers } from './resource-servers.ts';
import type { Roles } from './roles.ts';

/** The admin API's scopes: one pair per resource, reading and changing. */
export const ADMIN_SCOPES = [
  { scope: 'admin:clients:read', description: 'Read client registrations' },
  { scope: 'admin:clients:write', description: 'Register, change and delete clients' },
  { scope: 'admin:users:read', description: 'Read user accounts, their roles, sessions and grants' },
  { scope: 'admin:users:write', description: 'Create, change and delete user accounts; end their sessions and grants' },
  { scope: 'admin:roles:read', description: 'Read roles' },
  { scope: 'admin:roles:write', description: 'Create, change and delete roles' },
  { scope: 'admin:apis:read', description: 'Read API registrations' },
  { scope: 'admin:apis:write', description: 'Register, change and delete APIs' },
  { scope: 'admin:audit:read', description: 'Read audit events' },
  { scope: 'admin:keys:read', description: 'Read signing keys' },
  { scope: 'admin:keys:write', description: 'Rotate and retire signing keys' },
] as const;

export type AdminScope = (typeof ADMIN_SCOPES)[number]['scope'];

/** The role every full admin client holds. */
export const ADMIN_ROLE = 'postern-admin';

/** The admin API's identifier (its tokens' audience): the issuer's /admin/v1. */
export function adminApiIdentifier(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/admin/v1`;
}

export interface AdminAccessServices {
  clients: Clients;
  resourceServers: ResourceServers;
  roles: Roles;
  audit: AuditLog;
}

/**
 * Registers the admin API (a `roles` API: a client gets only the scopes its roles give) when it
 * is not yet, and brings its scopes up to date when it is.
 */
export async function ensureAdminApi(services: AdminAccessServices, issuer: string): Promise<string> {
  const identifier = adminApiIdentifier(issuer);
  const scopes = ADMIN_SCOPES.map(({ scope, description }) => ({ scope, description }));
  const existing = await services.resourceServers.find(identifier);
  if (!existing) {
    await services.resourceServers.create({ identifier, name: 'Postern admin API', access: 'roles', scopes });
  } else if (ADMIN_SCOPES.some(({ scope }) => !existing.scopes.some((held) => held.scope === scope))) {
    await services.resourceServers.update(identifier, { access: 'roles', scopes: [...existing.scopes.map(({ scope, description }) => ({ scope, description: description ?? undefined })), ...scopes.filter(({ scope }) => !existing.scopes.some((held) => held.scope === scope))] });
  }
  return identifier;
}

/**
 * Registers a client-credentials client that may call the admin API: with every admin scope
 * through the `postern-admin` role, or, when `scopes` names some, through a role of its own
 * giving just those. The secret is returned here once.
 */
export async function createAdminClient(
  services: AdminAccessServices,
  options: { issuer: string; name?: string | undefined; scopes?: AdminScope[] | undefined; actor: string },
): Promise<{ client: ClientSummary; clientSecret: string; role: string; audience: string; scopes: string[] }> {
  const audience = await ensureAdminApi(services, options.issuer);
  const scopes = options.scopes?.length ? [...new Set(options.scopes)] : ADMIN_SCOPES.map(({ scope }) => scope);
  const { client, clientSecret } = await services.clients.create({
    name: options.name ?? 'Postern admin',
    type: 'confidential',
    grantTypes: ['client_credentials'],
    scopes,
  });
  const permissions = scopes.map((scope) => ({ resourceServer: audience, scope }));
  let role = ADMIN_ROLE;
  if (options.scopes?.length) {
    role = `admin-client:${client.clientId}`;
    await services.roles.create({ name: role, description: `Admin API scopes of client ${client.clientId}`, permissions });
  } else {
    try {
      await services.roles.setPermissions(ADMIN_ROLE, permissions);
    } catch (error) {
      if (!(error instanceof NotFound)) throw error;
      await services.roles.create({ name: ADMIN_ROLE, description: 'Every scope of the admin API', permissions });
    }
  }
  await services.roles.grant(role, { kind: 'client', id: client.clientId });
  await services.audit.record({ type: 'client.created', clientId: client.clientId, actor: options.actor, details: { admin: true, role, scopes } });
  return { client, clientSecret: clientSecret!, role, audience, scopes };
}
