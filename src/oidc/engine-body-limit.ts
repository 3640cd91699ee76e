import type { Middleware } from 'koa';
import { readBodyLimited, replaceBody } from './engine-body.ts';
import { engineRouteKey } from './engine-path.ts';

/**
 * Routes where the engine loads the session before it reads the body: a client that goes away in
 * that wait leaves an unreadable stream, which the engine takes for an upstream parser (and prints
 * a plain-text warning about). Their bodies are read first and handed on as a stream of their own.
 */
const READ_FIRST = ['/session/end', '/session/end/confirm'].map(engineRouteKey);

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
    if (!ctx.req.readable) {
      // the client went away before its body could be read: nothing to answer (and the engine would
      // take the unreadable stream for an upstream parser and print a warning about it)
      ctx.state.clientAborted = true;
      ctx.state.log?.info('client closed the request');
      return;
    }
    const readFirst = ctx.get('transfer-encoding') !== '' || READ_FIRST.includes(engineRouteKey(ctx.path));
    if (readFirst) {
      replaceBody(ctx, await readBodyLimited(ctx));
      return next();
    }
    if (ctx.get('content-length') !== '') await readBodyLimited(ctx, { declaredOnly: true });
    return next();
  };
}
