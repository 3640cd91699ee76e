import accepts from 'accepts';
import { IncomingMessage } from 'node:http';
import { parse as parseQuery, stringify, type ParsedUrlQuery } from 'node:querystring';
import type { Context } from 'koa';
import { PayloadTooLarge } from '../domain/errors.ts';

/** The engine's own limit for form bodies (lib/shared/selective_body.js). */
export const ENGINE_BODY_LIMIT = 56 * 1024;

const tooLarge = () => new PayloadTooLarge(`the request body must not exceed ${ENGINE_BODY_LIMIT} bytes`);

/**
 * Reads the request body, at most ENGINE_BODY_LIMIT bytes (PayloadTooLarge beyond). With
 * `declaredOnly`, only checks the declared Content-Length and leaves the stream unread.
 */
export async function readBodyLimited(ctx: Context, options: { declaredOnly?: boolean } = {}): Promise<Buffer> {
  const declared = Number(ctx.get('content-length'));
  if (declared > ENGINE_BODY_LIMIT) {
    ctx.set('Connection', 'close');
    throw tooLarge();
  }
  if (options.declaredOnly) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  // leaving the loop early must not destroy the request: that would abort the connection before the 413 is sent
  for await (const chunk of ctx.req.iterator({ destroyOnReturn: false })) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > ENGINE_BODY_LIMIT) {
      // the rest of the body is not read; the connection closes after the answer instead
      ctx.set('Connection', 'close');
      throw tooLarge();
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks, size);
}

/** Reads a form body (at most ENGINE_BODY_LIMIT bytes) without the engine's parser. */
export async function readFormBody(ctx: Context): Promise<ParsedUrlQuery> {
  return parseQuery((await readBodyLimited(ctx)).toString('utf8'));
}

/**
 * Puts `body` back as the request's body stream, exactly as the engine reads a body it parses
 * itself (a readable request with a matching Content-Length), so it neither warns about an
 * upstream parser nor needs one.
 */
export function replaceBody(ctx: Context, body: Buffer): void {
  const original = ctx.req;
  const replayed = new IncomingMessage(original.socket);
  const { 'transfer-encoding': _chunked, ...headers } = original.headers;
  replayed.headers = { ...headers, 'content-length': String(body.length) };
  replayed.rawHeaders = original.rawHeaders;
  replayed.method = original.method;
  replayed.url = original.url;
  replayed.httpVersion = original.httpVersion;
  replayed.httpVersionMajor = original.httpVersionMajor;
  replayed.httpVersionMinor = original.httpVersionMinor;
  replayed.push(body);
  replayed.push(null);
  // the whole message is here; without this, ending the stream would abort the connection under it
  replayed.complete = true;
  ctx.req = replayed;
  ctx.request.req = replayed;
  // Koa keeps the negotiator it made for the first request object (language, compression); later
  // changes to this one's Accept header (pagesPreferHtml) must be what the engine negotiates on
  ctx.request.accept = accepts(replayed);
}

/** `replaceBody` with a form, encoded as the engine decodes it. */
export function replaceFormBody(ctx: Context, form: ParsedUrlQuery): void {
  replaceBody(ctx, Buffer.from(stringify(form)));
}
