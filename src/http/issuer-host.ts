import type { Middleware } from 'koa';

/**
 * The issuer's host is the only host this server answers for. Koa and the engine build absolute
 * URLs (discovery, the logout form's action) from the request's host, which is whatever the client
 * or a proxy wrote: `Host` (proxies usually pass the client's on), and with `app.proxy` also
 * `X-Forwarded-Host`. Both are replaced before anything reads them, and `Forwarded` is dropped, as
 * nothing here reads it. X-Forwarded-For and -Proto stay: behind a trusted proxy they are the
 * client's address and protocol.
 */
export function issuerHost(issuer: string): Middleware {
  const host = new URL(issuer).host;
  return async (ctx, next) => {
    const headers = ctx.req.headers;
    headers.host = host;
    delete headers['x-forwarded-host'];
    delete headers.forwarded;
    await next();
  };
}
