import type { ApiAccess, ResourceServer, ResourceServerChanges } from '../../domain/resource-servers.ts';
import type { Permission, Role, RoleDetails } from '../../domain/roles.ts';
import { etagOf, expectVersion, requireIfMatch } from '../etag.ts';
import { memoryPage, pageRequest } from '../pagination.ts';
import { auditChange, iso, type AdminRequest, type Handler, type HandlerDependencies } from './types.ts';

/** The part of a role its ETag covers: who holds it is changed through the holders, not the role. */
export function roleJson(role: Role) {
  return { name: role.name, description: role.description, permissions: role.permissions, createdAt: iso(role.createdAt) };
}

export function apiJson(api: ResourceServer) {
  return {
    identifier: api.identifier,
    name: api.name,
    isDefault: api.isDefault,
    access: api.access,
    accessTokenTtl: api.accessTokenTtl ?? null,
    scopes: api.scopes,
    introspectors: api.introspectors,
  };
}

function permissionsText(permissions: Permission[]): string[] {
  return permissions.map((p) => `${p.resourceServer}:${p.scope}`);
}

export function roleAndApiHandlers(deps: HandlerDependencies): Record<string, Handler> {
  const { roles, resourceServers } = deps.services;
  const roleName = (request: AdminRequest) => request.path.roleName as string;
  const apiId = (request: AdminRequest) => request.path.apiId as string;
  return {
    async listRoles(request) {
      const all = await roles.list();
      const body = memoryPage(pageRequest(request.query), all, (role) => role.name.toLowerCase(), (role) => ({ ...roleJson(role), users: role.users, clients: role.clients }));
      return { status: 200, body };
    },
    async createRole(request) {
      const input = request.body as { name: string; description?: string; permissions?: Permission[] };
      const role = await roles.create(input);
      await auditChange(deps, request, { type: 'role.created', details: { role: role.name, permissions: permissionsText(role.permissions) } });
      const json = roleJson(role);
      return { status: 201, body: json, etag: etagOf(json) };
    },
    async getRole(request) {
      const role: RoleDetails = await roles.show(roleName(request));
      const json = roleJson(role);
      return { status: 200, body: { ...json, holders: { users: role.users, clients: role.clients } }, etag: etagOf(json) };
    },
    async updateRole(request) {
      const ifMatch = requireIfMatch(request.ifMatch);
      const changes = request.body as { description?: string | null; permissions?: Permission[] };
      const role = await roles.update(roleName(request), changes, expectVersion(ifMatch, roleJson));
      await auditChange(deps, request, { type: changes.permissions ? 'role.permissions_set' : 'role.updated', details: { role: role.name, permissions: permissionsText(role.permissions) } });
      const json = roleJson(role);
      return { status: 200, body: json, etag: etagOf(json) };
    },
    async deleteRole(request) {
      const role = await roles.show(roleName(request));
      await roles.delete(role.name);
      await auditChange(deps, request, { type: 'role.deleted', details: { role: role.name, users: role.users.length, clients: role.clients.length } });
      return { status: 204 };
    },

    async listApis(request) {
      const all = (await resourceServers.list()).sort((a, b) => (a.identifier < b.identifier ? -1 : a.identifier > b.identifier ? 1 : 0));
      return { status: 200, body: memoryPage(pageRequest(request.query), all, (api) => api.identifier, apiJson) };
    },
    async createApi(request) {
      const input = request.body as { identifier: string; name: string; isDefault?: boolean; access?: ApiAccess; accessTokenTtl?: number; scopes: Array<{ scope: string; description?: string }>; introspectors?: string[] };
      const api = await resourceServers.create(input);
      await auditChange(deps, request, { type: 'api.created', details: { api: api.identifier, access: api.access } });
      const json = apiJson(api);
      return { status: 201, body: json, etag: etagOf(json) };
    },
    async getApi(request) {
      const json = apiJson(await resourceServers.get(apiId(request)));
      return { status: 200, body: json, etag: etagOf(json) };
    },
    async updateApi(request) {
      const ifMatch = requireIfMatch(request.ifMatch);
      const changes = request.body as ResourceServerChanges;
      const api = await resourceServers.update(apiId(request), changes, expectVersion(ifMatch, apiJson));
      await auditChange(deps, request, { type: 'api.updated', details: { api: api.identifier, fields: Object.keys(changes) } });
      const json = apiJson(api);
      return { status: 200, body: json, etag: etagOf(json) };
    },
    async deleteApi(request) {
      const api = await resourceServers.get(apiId(request));
      await resourceServers.delete(api.identifier);
      await auditChange(deps, request, { type: 'api.deleted', details: { api: api.identifier } });
      return { status: 204 };
    },
  };
}
