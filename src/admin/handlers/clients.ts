import { clientLogoPath } from '../../domain/client-presentation.ts';
import type { ClientSummary, GrantType, PkcePolicy, SecretAuthMethod } from '../../domain/clients.ts';
import type { Entitlements } from '../../domain/roles.ts';
import { etagOf, expectVersion, requireIfMatch } from '../etag.ts';
import { keysetPage, pageRequest } from '../pagination.ts';
import { auditChange, iso, type Handler, type HandlerDependencies } from './types.ts';

export function clientJsonAt(client: ClientSummary, issuer: string) {
  return {
    clientId: client.clientId,
    name: client.name,
    type: client.type,
    firstParty: client.firstParty,
    redirectUris: client.redirectUris,
    postLogoutRedirectUris: client.postLogoutRedirectUris,
    grantTypes: client.grantTypes,
    scopes: client.scopes,
    tokenEndpointAuthMethod: client.tokenEndpointAuthMethod,
    pkcePolicy: client.pkcePolicy,
    backchannelLogoutUri: client.backchannelLogoutUri,
    backchannelLogoutSessionRequired: client.backchannelLogoutSessionRequired,
    ...client.links,
    logoUri: client.logo ? `${issuer}${clientLogoPath(client.clientId, client.logo)}` : null,
    dynamic: client.dynamic,
    firstUsedAt: client.firstUsedAt ? iso(client.firstUsedAt) : null,
    dpopBoundAccessTokens: client.dpopBoundAccessTokens,
    requirePushedAuthorizationRequests: client.requirePushedAuthorizationRequests,
    tokenExchangeAudiences: client.tokenExchangeAudiences,
    createdAt: iso(client.createdAt),
  };
}

export function heldRolesJson(entitlements: Entitlements) {
  return { roles: entitlements.roles.map(({ name, permissions }) => ({ name, permissions })) };
}

interface ClientBody {
  name?: string;
  type?: 'confidential' | 'public';
  clientId?: string;
  redirectUris?: string[];
  postLogoutRedirectUris?: string[];
  grantTypes?: GrantType[];
  scopes?: string[];
  firstParty?: boolean;
  pkcePolicy?: PkcePolicy;
  tokenEndpointAuthMethod?: SecretAuthMethod;
  backchannelLogoutUri?: string | null;
  backchannelLogoutSessionRequired?: boolean;
  dpopBoundAccessTokens?: boolean;
  requirePushedAuthorizationRequests?: boolean;
  tokenExchangeAudiences?: string[];
  clientUri?: string | null;
  policyUri?: string | null;
  tosUri?: string | null;
}

/** The body of an image operation, as the router read it. */
export interface ImageBody {
  bytes: Buffer;
  type: string;
}

export function clientHandlers(deps: HandlerDependencies): Record<string, Handler> {
  const { clients, roles } = deps.services;
  const clientId = (request: { path: Record<string, unknown> }) => request.path.clientId as string;
  const roleName = (request: { path: Record<string, unknown> }) => request.path.roleName as string;
  const clientJson = (client: ClientSummary) => clientJsonAt(client, deps.issuer);
  return {
    async listClients(request) {
      const body = await keysetPage(pageRequest(request.query), (page) => clients.page(page), (client) => client.clientId, clientJson);
      return { status: 200, body };
    },
    async createClient(request) {
      const input = request.body as ClientBody;
      const { client, clientSecret } = await clients.create({
        ...input,
        name: input.name!,
        type: input.type!,
        backchannelLogoutUri: input.backchannelLogoutUri ?? undefined,
        clientUri: input.clientUri ?? undefined,
        policyUri: input.policyUri ?? undefined,
        tosUri: input.tosUri ?? undefined,
      });
      await auditChange(deps, request, { type: 'client.created', clientId: client.clientId });
      const json = clientJson(client);
      return { status: 201, body: clientSecret === undefined ? json : { ...json, clientSecret }, etag: etagOf(json) };
    },
    async getClient(request) {
      const json = clientJson(await clients.get(clientId(request)));
      return { status: 200, body: json, etag: etagOf(json) };
    },
    async updateClient(request) {
      const ifMatch = requireIfMatch(request.ifMatch);
      const changes = request.body as ClientBody;
      const client = await clients.update(clientId(request), changes, expectVersion(ifMatch, clientJson));
      await auditChange(deps, request, { type: 'client.updated', clientId: client.clientId, details: { fields: Object.keys(changes) } });
      if (changes.pkcePolicy !== undefined) await auditChange(deps, request, { type: 'client.pkce_policy_changed', clientId: client.clientId, details: { pkcePolicy: client.pkcePolicy } });
      const json = clientJson(client);
      return { status: 200, body: json, etag: etagOf(json) };
    },
    async deleteClient(request) {
      const id = clientId(request);
      // looked up first: on embedded PGlite a delete cannot tell whether a row was there
      await clients.get(id);
      await clients.delete(id);
      await auditChange(deps, request, { type: 'client.deleted', clientId: id });
      return { status: 204 };
    },
    async rotateClientSecret(request) {
      const { client, clientSecret } = await clients.rotateSecret(clientId(request));
      await auditChange(deps, request, { type: 'client.secret_rotated', clientId: client.clientId });
      const json = clientJson(client);
      return { status: 200, body: { ...json, clientSecret }, etag: etagOf(json) };
    },
    async setClientLogo(request) {
      const { bytes, type } = request.body as ImageBody;
      const client = await clients.setLogo(clientId(request), bytes, type);
      await auditChange(deps, request, { type: 'client.updated', clientId: client.clientId, details: { fields: ['logo'] } });
      const json = clientJson(client);
      return { status: 200, body: json, etag: etagOf(json) };
    },
    async deleteClientLogo(request) {
      const client = await clients.removeLogo(clientId(request));
      await auditChange(deps, request, { type: 'client.updated', clientId: client.clientId, details: { fields: ['logo'] } });
      const json = clientJson(client);
      return { status: 200, body: json, etag: etagOf(json) };
    },
    async listClientRoles(request) {
      const id = clientId(request);
      await clients.get(id);
      return { status: 200, body: heldRolesJson(await roles.clientPermissionsFor(id)) };
    },
    async grantClientRole(request) {
      const role = (await roles.get(roleName(request))).name;
      if (await roles.grant(role, { kind: 'client', id: clientId(request) })) {
        await auditChange(deps, request, { type: 'role.granted', clientId: clientId(request), details: { role } });
      }
      return { status: 204 };
    },
    async revokeClientRole(request) {
      const role = (await roles.get(roleName(request))).name;
      if (await roles.revoke(role, { kind: 'client', id: clientId(request) })) {
        await auditChange(deps, request, { type: 'role.revoked', clientId: clientId(request), details: { role } });
      }
      return { status: 204 };
    },
  };
}
