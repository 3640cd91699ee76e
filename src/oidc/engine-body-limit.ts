import type { Middleware } from 'koa';
import { readBodyLimited, replaceBody } from './engine-body.ts';

/**
 * Bodies for the engine's endpoints are held to the engine's own limit here, where the answer can
 * be 413 in the endpoint's format: a declared Content-Length over it is refused before reading,
 * and a chunked body is read up to it and handed on with its length (the engine then reads it as
 * its own). Without this the engine answers an over-size body with 400, and Postern's own
 * pre-parsing with 500.
 */
export function engineBodyLimit(): Middleware {
  return async (ctx, next) => {
    if (ctx.method !== 'POST' && ctx.method !== 'PUT' && ctx.method !== 'PATCH' && ctx.method !== 'DELETE') return next();
    if (ctx.get('content-length') !== '' && !ctx.get('transfer-encoding')) {
      await readBodyLimited(ctx, { declaredOnly: true });
      return next();
    }
    if (!ctx.get('transfer-encoding')) return next();
    replaceBody(ctx, await readBodyLimited(ctx));
    return next();
  };
}
