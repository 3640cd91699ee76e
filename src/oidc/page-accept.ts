import type { Middleware } from 'koa';
import { engineRouteKey } from './engine-path.ts';

const PAGES = ['/auth', '/session/end', '/session/end/confirm', '/session/end/success'].map(engineRouteKey);

/**
 * The engine answers errors as JSON unless the request prefers HTML, so a request without an
 * Accept header (or `*\/*`, or one that takes no JSON at all) gets JSON even on the pages people
 * reach through a browser. On those routes such a request is taken to want the page.
 */
export function pagesPreferHtml(): Middleware {
  return async (ctx, next) => {
    const accept = ctx.get('accept').trim();
    if (PAGES.includes(engineRouteKey(ctx.path)) && (accept === '' || accept === '*/*' || !ctx.accepts('json'))) ctx.request.headers.accept = 'text/html';
    return next();
  };
}
