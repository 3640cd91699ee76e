import { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { ResourceServers } from '../../domain/resource-servers.ts';
import { failingAsUnavailable } from '../adapter/unavailable-guard.ts';
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
 */
export function resourceIndicatorsConfiguration(resourceServers: ResourceServers): ResourceIndicators {
  return {
    enabled: true,
    async defaultResource(ctx) {
      const fallback = await failingAsUnavailable(() => resourceServers.findDefault())();
      if (!fallback) return undefined;
      const apiScopes = new Set(fallback.scopes.map(({ scope }) => scope));
      return requestedScopes(ctx).some((scope) => apiScopes.has(scope)) ? fallback.identifier : undefined;
    },
    async getResourceServerInfo(_ctx, resourceIndicator, client) {
      const server = await failingAsUnavailable(() => resourceServers.find(resourceIndicator))();
      if (!server) throw new errors.InvalidTarget(`unknown resource server ${resourceIndicator}`);
      const allowed = scopeAllowance(client);
      const scope = server.scopes.map(({ scope: name }) => name).filter((name) => !allowed || allowed.has(name));
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
