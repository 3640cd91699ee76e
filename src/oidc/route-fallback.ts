import type { Middleware } from 'koa';
import type { Provider } from 'oidc-provider';
import { engineRouteMethods } from './engine-internals.ts';

/**
 * Placed right in front of the engine: a request that comes back from it unanswered (404, no body)
 * but is for one of the engine's routes with a method it does not serve becomes 405 with `Allow`;
 * OPTIONS there (no CORS preflight the engine answered) becomes 204 with `Allow`. Anything else
 * stays an empty 404, for the routers' own 405/OPTIONS handling upstream and then the error
 * handler's page.
 */
export function engineRouteFallback(provider: Provider): Middleware {
  const methodsAt = engineRouteMethods(provider);
  return async (ctx, next) => {
    await next();
    if (ctx.status !== 404 || ctx.body != null) return;
    const methods = methodsAt(ctx.path);
    if (methods.length === 0) return;
    ctx.set('Allow', [...new Set([...methods, 'OPTIONS'])].join(', '));
    ctx.status = ctx.method === 'OPTIONS' ? 204 : 405;
  };
}
