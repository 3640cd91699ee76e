import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import { accessLogger, type Logger } from '../logger.ts';

const INCOMING_ID = /^[\w.:-]{1,64}$/;

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
    ctx.res.once('close', () => {
      const aborted = ctx.state.clientAborted === true || !ctx.res.writableFinished;
      access.info(
        {
          reqId: requestId,
          method: ctx.method,
          // the path only: query strings carry codes and tokens
          path: ctx.path,
          status: aborted ? 499 : ctx.status,
          ms: Math.round((performance.now() - started) * 10) / 10,
          ip,
          client: ctx.oidc?.client?.clientId,
        },
        'request',
      );
    });
    await next();
  };
}
