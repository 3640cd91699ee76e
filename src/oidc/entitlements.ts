import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Entitlements, RoleHolder, Roles } from '../domain/roles.ts';
import { failingAsUnavailable } from './adapter/unavailable-guard.ts';

/**
 * What the user or client a token is issued for may do through its roles. One token request asks
 * several times (the API's scopes, the token's `roles` claim, the ID token's): read once per request.
 */
export interface EntitlementsLookup {
  /**
   * The request's holder: the client itself for client credentials; else the account the token
   * endpoint has loaded, or the one signed in at the authorization endpoint. Undefined while none
   * is known (an authorization request before sign-in).
   */
  ofRequest(ctx: KoaContextWithOIDC): Promise<Entitlements | undefined>;
  /** `request`: the request this is read for, if any, so that it is read once. */
  of(holder: RoleHolder, request?: object): Promise<Entitlements>;
}

function holderOf(ctx: KoaContextWithOIDC): RoleHolder | undefined {
  const { oidc } = ctx;
  if (oidc.route === 'token') {
    if (oidc.params?.grant_type === 'client_credentials' && oidc.client) return { kind: 'client', id: oidc.client.clientId };
    const accountId = oidc.entities.Account?.accountId;
    return accountId ? { kind: 'account', id: accountId } : undefined;
  }
  const accountId = oidc.session?.accountId;
  return accountId ? { kind: 'account', id: accountId } : undefined;
}

export function createEntitlementsLookup(roles: Roles): EntitlementsLookup {
  const read = failingAsUnavailable((holder: RoleHolder) => (holder.kind === 'account' ? roles.permissionsFor(holder.id) : roles.clientPermissionsFor(holder.id)));
  const perRequest = new WeakMap<object, Map<string, Promise<Entitlements>>>();

  function of(holder: RoleHolder, request?: object): Promise<Entitlements> {
    if (!request) return read(holder);
    const key = `${holder.kind}:${holder.id}`;
    let known = perRequest.get(request);
    if (!known) perRequest.set(request, (known = new Map()));
    let entitlements = known.get(key);
    if (!entitlements) known.set(key, (entitlements = read(holder)));
    return entitlements;
  }

  return {
    of,
    async ofRequest(ctx) {
      const holder = holderOf(ctx);
      return holder ? of(holder, ctx) : undefined;
    },
  };
}
