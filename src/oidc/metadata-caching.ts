import type { Middleware } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';

/**
 * Marks successful discovery and JWKS responses cacheable; every other response keeps the engine's
 * headers. Discovery changes only when the server is reconfigured, so an hour is plenty. The JWKS
 * is kept `jwksMaxAgeSeconds` (POSTERN_JWKS_MAX_AGE, default 300): a new signing key is published
 * at least that long before it signs (see src/domain/signing-keys.ts).
 */
export function metadataCaching(jwksMaxAgeSeconds: number): Middleware {
  const cacheControl: Record<string, string> = {
    discovery: 'public, max-age=3600',
    jwks: `public, max-age=${jwksMaxAgeSeconds}`,
  };
  return async (ctx, next) => {
    await next();
    const route = (ctx as KoaContextWithOIDC).oidc?.route;
    const value = route === undefined ? undefined : cacheControl[route];
    if (value && ctx.status === 200) ctx.set('Cache-Control', value);
  };
}
