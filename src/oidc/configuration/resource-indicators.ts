import { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { ResourceServers } from '../../domain/resource-servers.ts';
import { failingAsUnavailable } from '../adapter/unavailable-guard.ts';
import type { EntitlementsLookup } from '../entitlements.ts';
import { scopeAllowance } from './client-scope-allowance.ts';

type ResourceIndicators = NonNullable<NonNullable<Configuration['features']>['resourceIndicators']>;

function requestedScopes(ctx: KoaContextWithOIDC): string[] {
  const scope = (ctx.oidc.params?.scope as string | undefined) ?? '';
  return scope.split(' ').filter(Boolean);
}

/**
 * RFC 8707. Registered APIs get RFC 9068 JWT access tokens signed RS256. A client that asks for
 * one of the default API's scopes without sending `resource` gets the default API's token; a plain
 * OpenID Connect sign-in (no API scope) keeps an opaque token that works at userinfo.
 *
 * The API's scopes offered here are those the client may ask for and, on an API whose access is
 * `roles`, those the user's roles (the client's own, for client credentials) allow now. The engine
 * asks at the authorization endpoint (so consent offers nothing more) and at every token issue,
 * refresh included, where it intersects them with the grant: a role taken away narrows the next
 * token, a role given back widens it again up to what the user consented to.
 */
export function resourceIndicatorsConfiguration(resourceServers: ResourceServers, entitlements: EntitlementsLookup): ResourceIndicators {
  return {
    enabled: true,
    async defaultResource(ctx) {
      const fallback = await failingAsUnavailable(() => resourceServers.findDefault())();
      if (!fallback) return undefined;
      const apiScopes = new Set(fallback.scopes.map(({ scope }) => scope));
      return requestedScopes(ctx).some((scope) => apiScopes.has(scope)) ? fallback.identifier : undefined;
    },
    async getResourceServerInfo(ctx, resourceIndicator, client) {
      const server = await failingAsUnavailable(() => resourceServers.find(resourceIndicator))();
      if (!server) throw new errors.InvalidTarget(`unknown resource server ${resourceIndicator}`);
      const allowed = scopeAllowance(client);
      // nobody known yet (before sign-in): a roles API offers nothing until someone is
      const permitted = server.access === 'open' ? undefined : new Set((await entitlements.ofRequest(ctx))?.scopesOn(server) ?? []);
      const scope = server.scopes.map(({ scope: name }) => name).filter((name) => (!allowed || allowed.has(name)) && (!permitted || permitted.has(name)));
      return {
        scope: scope.join(' '),
        audience: server.identifier,
        ...(server.accessTokenTtl ? { accessTokenTTL: server.accessTokenTtl } : {}),
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      };
    },
    useGrantedResource: () => true,
  };
}
