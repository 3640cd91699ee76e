import type { Middleware } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';

/**
 * How long shared caches and relying parties may keep the two public documents. Discovery changes
 * only when the server is reconfigured, so an hour is plenty. The JWKS is kept short: a verifier
 * holding an old set cannot check tokens signed with a key added since.
 */
const CACHE_CONTROL: Record<string, string> = {
  discovery: 'public, max-age=3600',
  jwks: 'public, max-age=300',
};

/** Marks successful discovery and JWKS responses cacheable; every other response keeps the engine's headers. */
export const metadataCaching: Middleware = async (ctx, next) => {
  await next();
  const route = (ctx as KoaContextWithOIDC).oidc?.route;
  const value = route === undefined ? undefined : CACHE_CONTROL[route];
  if (value && ctx.status === 200) ctx.set('Cache-Control', value);
};
