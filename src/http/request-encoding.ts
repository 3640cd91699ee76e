import type { Middleware } from 'koa';
import { UnsupportedMediaType } from '../domain/errors.ts';

/** No endpoint takes a compressed request body (RFC 9110 §8.4): 415 instead of a decoder's failure. */
export function identityRequestEncoding(): Middleware {
  return async (ctx, next) => {
    const encoding = ctx.get('content-encoding').trim().toLowerCase();
    if (encoding !== '' && encoding !== 'identity') {
      ctx.set('Accept-Encoding', 'identity');
      throw new UnsupportedMediaType('request bodies must not be compressed (Content-Encoding)');
    }
    return next();
  };
}
