import compress from 'koa-compress';
import type { Middleware } from 'koa';

/** Only pages and the stylesheet: protocol answers are small, and tokens stay out of compressed bodies. */
const COMPRESSED_TYPES = /^text\/(?:html|css)\b/i;

/**
 * Brotli or gzip for HTML and CSS, as the request's Accept-Encoding allows (always with
 * `Vary: Accept-Encoding`). The form tokens on pages are masked per response (see csrf.ts), so
 * compressing a page next to reflected input gives nothing away about them.
 */
export function compression(): Middleware {
  const compressor = compress({
    filter: (type) => COMPRESSED_TYPES.test(type),
    threshold: 1024,
    encodingPreference: ['br', 'gzip', 'identity'],
    deflate: false,
    zstd: false,
  });
  return async (ctx, next) => {
    let answered = false;
    try {
      await compressor(ctx, async () => {
        await next();
        answered = true;
      });
    } catch (error) {
      // an Accept-Encoding that cannot be read (`*;q=garbage`) or takes no coding at all makes
      // koa-compress throw; the answer is already there and goes out as it is
      if (!answered) throw error;
    }
  };
}
