import type { Middleware } from 'koa';
import type { Provider } from 'oidc-provider';
import { MethodNotAllowed, NotFound } from '../domain/errors.ts';
import { engineRouteMethods } from './engine-internals.ts';

/**
 * The last middleware: a request no router and not the engine answered. On one of the engine's
 * routes with a method it does not serve: 405 with `Allow` (OPTIONS: 204 with `Allow`, when the
 * engine's CORS handling did not answer it); anywhere else: 404. Both rendered by the error
 * handler in the endpoint's format.
 */
export function engineRouteFallback(provider: Provider): Middleware {
  const methodsAt = engineRouteMethods(provider);
  return async (ctx) => {
    const methods = methodsAt(ctx.path);
    if (methods.length === 0) throw new NotFound('There is nothing at this address.');
    const allow = [...new Set([...methods, 'OPTIONS'])].join(', ');
    ctx.set('Allow', allow);
    if (ctx.method === 'OPTIONS') {
      ctx.status = 204;
      return;
    }
    throw new MethodNotAllowed(`${ctx.method} is not supported here; use one of ${allow}`);
  };
}
