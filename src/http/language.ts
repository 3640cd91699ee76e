import type { Middleware } from 'koa';
import { languageOf } from '../pages/language/page-language.ts';

/**
 * Chooses the language of the pages before anything renders one (see page-language.ts), and
 * says on every page which it is: `Content-Language`, and `Vary` on what chose it.
 */
export function language(): Middleware {
  return async (ctx, next) => {
    languageOf(ctx);
    await next();
    if (ctx.response.is('html')) {
      ctx.set('Content-Language', languageOf(ctx).translator.language);
      ctx.vary('Accept-Language');
      ctx.vary('Cookie');
    }
  };
}
