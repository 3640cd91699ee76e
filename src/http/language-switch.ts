import type { Middleware } from 'koa';
import { isLanguage } from '../pages/language/languages.ts';
import { formatChoice, LANGUAGE_COOKIE, LANGUAGE_PATH } from '../pages/language/page-language.ts';

const YEAR_MS = 365 * 24 * 3600 * 1000;

/** Only a path on this site: `//host`, `/\host` and absolute URLs would send the browser elsewhere. */
function localReturn(value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return '/';
  if (/[\u0000-\u001f\u007f]/u.test(value) || value.length > 2048) return '/';
  return value;
}

/**
 * The language switcher's links: `GET /language?lang=de&return=/page` remembers the language in
 * a cookie and goes back to the page; `&over=fr`, on a page whose language an application chose
 * with ui_locales, remembers that the person turned that language down. A link works without JavaScript on every page, error pages
 * included; the worst a forged one can do is change the language of the pages.
 */
export function languageSwitch(): Middleware {
  return async (ctx, next) => {
    if (ctx.path !== LANGUAGE_PATH || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    const chosen = ctx.query.lang;
    const over = ctx.query.over;
    if (isLanguage(chosen)) {
      const value = formatChoice({ language: chosen, overrules: isLanguage(over) ? over : undefined });
      ctx.cookies.set(LANGUAGE_COOKIE, value, { httpOnly: true, sameSite: 'lax', secure: ctx.secure, path: '/', maxAge: YEAR_MS, overwrite: true });
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 303;
    ctx.redirect(localReturn(ctx.query.return));
  };
}
