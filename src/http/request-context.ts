import { randomUUID } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import { accessLogger, type Logger } from '../logger.ts';
import { noteRoute, observeRequest } from '../metrics/index.ts';

const INCOMING_ID = /^[\w.:-]{1,64}$/;

/**
 * The route a request took, never its raw path: the engine's route name (`token`, `jwks`…), else
 * the pattern our router matched (`/interaction/:uid/login`), else the name a middleware that
 * answered before routing gave it (`ctx.state.route`: the rate limit's endpoint), else `other`.
 */
function routeOf(ctx: Context): string {
  const engineRoute = (ctx as { oidc?: { route?: unknown } }).oidc?.route;
  if (typeof engineRoute === 'string') return engineRoute;
  const matched = (ctx as { _matchedRoute?: unknown })._matchedRoute;
  if (typeof matched === 'string') return matched;
  return typeof ctx.state.route === 'string' ? ctx.state.route : 'other';
}

/**
 * Gives every request an id (echoed as X-Request-Id) and a child logger carrying it, made only
 * when something logs; writes one access line when the response is done — status 499 when the
 * client went away before it was complete.
 */
export function requestContext(logger: Logger): Middleware {
  const access = accessLogger(logger);
  return async (ctx, next) => {
    const incoming = ctx.get('x-request-id');
    const requestId = INCOMING_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    let child: Logger | undefined;
    Object.defineProperty(ctx.state, 'log', {
      get: () => (child ??= logger.child({ reqId: requestId })),
      enumerable: true,
      configurable: true,
    });
    ctx.set('X-Request-Id', requestId);
    const started = performance.now();
    // read now: once the response is done, the request may no longer have its socket
    const ip = ctx.ip;
    let route: string | undefined;
    ctx.res.once('close', () => {
      const aborted = ctx.state.clientAborted === true || !ctx.res.writableFinished;
      const ms = performance.now() - started;
      const status = aborted ? 499 : ctx.status;
      observeRequest(ctx.method, route ?? routeOf(ctx), status, ms / 1000);
      access.info(
        {
          reqId: requestId,
          method: ctx.method,
          // the path only: query strings carry codes and tokens
          path: ctx.path,
          status,
          ms: Math.round(ms * 10) / 10,
          ip,
          client: ctx.oidc?.client?.clientId,
        },
        'request',
      );
    });
    await next();
    // known once the routers and the engine are done, before the response is sent
    route = routeOf(ctx);
    noteRoute(ctx.req, route);
  };
}
