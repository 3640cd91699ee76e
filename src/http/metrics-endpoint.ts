import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import Koa, { type Middleware } from 'koa';
import type { Exposition } from '../metrics/index.ts';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * `GET /metrics` on the main port for a scraper presenting `Authorization: Bearer <token>`. The
 * comparison is of SHA-256 digests in constant time, so neither the token nor its length leaks
 * through timing. Answered before the access log and the rate limits, like the health endpoints.
 */
export function metricsEndpoint(exposition: Exposition, token: string): Middleware {
  const expected = digest(token);
  return async (ctx, next) => {
    if (ctx.path !== '/metrics') return next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    ctx.set('Cache-Control', 'no-store');
    const presented = /^Bearer ([^\s]+)$/i.exec(ctx.get('authorization'))?.[1];
    if (presented === undefined || !timingSafeEqual(digest(presented), expected)) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', 'Bearer realm="metrics"');
      ctx.body = { error: 'invalid_token', error_description: 'A valid bearer token is required for /metrics.' };
      return;
    }
    ctx.type = exposition.contentType;
    ctx.body = await exposition.render();
  };
}

/** The same exposition on its own listener (POSTERN_METRICS_PORT), without a token: GET /metrics, nothing else. */
export function metricsOnlyEndpoint(exposition: Exposition): Middleware {
  return async (ctx) => {
    if (ctx.path !== '/metrics') {
      ctx.status = 404;
      return;
    }
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.status = 405;
      ctx.set('Allow', 'GET, HEAD');
      return;
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.type = exposition.contentType;
    ctx.body = await exposition.render();
  };
}

/** A listener of its own for the scraper (POSTERN_METRICS_PORT), meant for a network only the monitoring reaches. */
export async function listenForMetrics(exposition: Exposition, port: number, host: string): Promise<Server> {
  const app = new Koa();
  app.silent = true;
  app.use(metricsOnlyEndpoint(exposition));
  const server = createServer(app.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
