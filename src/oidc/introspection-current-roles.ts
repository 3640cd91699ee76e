import type { Middleware } from 'koa';
import type { ResourceServers } from '../domain/resource-servers.ts';
import type { RoleHolder } from '../domain/roles.ts';
import { matchesEngineRoute } from './engine-path.ts';
import type { EntitlementsLookup } from './entitlements.ts';

const isIntrospection = matchesEngineRoute('/token/introspection');

interface IntrospectionAnswer {
  active?: unknown;
  sub?: unknown;
  client_id?: unknown;
  aud?: unknown;
  scope?: unknown;
  token_type?: unknown;
  roles?: unknown;
}

function audiences(aud: unknown): string[] {
  if (typeof aud === 'string') return [aud];
  return Array.isArray(aud) ? aud.filter((value): value is string => typeof value === 'string') : [];
}

/**
 * An access token keeps the scopes and roles it was issued with until it expires; an API that
 * asks online learns what they are now. For an active access token for a registered API, the
 * answer's `scope` keeps only what the holder's roles still allow there (all of an `open` API's)
 * and `roles` names the holder's roles on the API now. A role given since does not widen a token.
 */
export function introspectionCurrentRoles(resourceServers: ResourceServers, entitlements: EntitlementsLookup): Middleware {
  return async (ctx, next) => {
    await next();
    if (!isIntrospection(ctx.path) || ctx.status !== 200) return;
    const body = ctx.body as IntrospectionAnswer | undefined;
    // refresh tokens answer without a token_type; only access tokens for APIs have an audience
    if (body?.active !== true || typeof body.sub !== 'string' || body.token_type === undefined) return;
    const servers = (await Promise.all(audiences(body.aud).map((audience) => resourceServers.find(audience)))).filter((server) => server !== undefined);
    if (servers.length === 0) return;
    // client-credentials tokens carry the client as subject
    const holder: RoleHolder = body.sub === body.client_id ? { kind: 'client', id: body.sub } : { kind: 'account', id: body.sub };
    const held = await entitlements.of(holder, ctx);
    const allowed = new Set(servers.flatMap((server) => held.scopesOn(server)));
    const scope = (typeof body.scope === 'string' ? body.scope.split(' ') : []).filter((name) => allowed.has(name)).join(' ');
    const roles = [...new Set(servers.flatMap((server) => held.rolesOn(server.identifier)))].sort();
    const { scope: _scope, roles: _roles, ...rest } = body;
    ctx.body = { ...rest, ...(scope ? { scope } : {}), ...(roles.length > 0 ? { roles } : {}) };
  };
}
