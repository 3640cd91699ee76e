import type { Middleware } from 'koa';

const OAUTH_METADATA = '/.well-known/oauth-authorization-server';
const OPENID_METADATA = '/.well-known/openid-configuration';

/**
 * Where clients look for the metadata of an issuer with a path, e.g. https://id.example/tenant:
 * RFC 8414 §3.1 inserts the well-known segment before the path
 * (/.well-known/oauth-authorization-server/tenant); OpenID Connect Discovery §4 appends it
 * (/tenant/.well-known/openid-configuration). The engine serves its routes from the root, so both
 * are handed to it as its own metadata route: the same document, the same headers. An issuer
 * without a path needs neither.
 */
export function issuerPathMetadata(issuer: string): Middleware {
  const path = new URL(issuer).pathname.replace(/\/+$/, '');
  if (path === '') return (_ctx, next) => next();
  const routes = new Map([
    [`${OAUTH_METADATA}${path}`, OAUTH_METADATA],
    [`${path}${OPENID_METADATA}`, OPENID_METADATA],
  ]);
  return (ctx, next) => {
    const route = routes.get(ctx.path);
    if (route !== undefined) ctx.path = route;
    return next();
  };
}
