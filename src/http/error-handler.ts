import type { Context, Middleware } from 'koa';
import { DomainError, InvalidRequest, MethodNotAllowed } from '../domain/errors.ts';
import { ACCOUNT_PATH } from '../interactions/paths.ts';
import type { ErrorPage, Views } from '../interactions/views.ts';
import { isJsonEndpoint } from '../oidc/engine-path.ts';
import { asDatabaseUnavailable, isUnstorableText } from '../store/database-guard.ts';
import { logOutage } from '../store/outage-log.ts';
import { StorageUnavailable } from '../store/unavailable.ts';
import { languageOf } from '../pages/language/page-language.ts';
import { isWorded, WordedNotFound } from '../pages/language/worded-errors.ts';

/** Seconds a client is asked to wait after a 503: about how long a storage tier takes to be used again. */
const RETRY_AFTER_SECONDS = '5';

/** Nothing is served at this address: the 404 of no route, told apart from a thing a route did not find. */
class PageMissing extends WordedNotFound {}

const ABORT_CODES = new Set(['ECONNRESET', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

/** The client went away while its request was read or answered: nothing to answer, nothing wrong here. */
function clientAborted(ctx: Context, error: unknown): boolean {
  const { code, type } = (error ?? {}) as { code?: unknown; type?: unknown };
  return ctx.req.socket.destroyed || type === 'request.aborted' || (typeof code === 'string' && ABORT_CODES.has(code));
}

/** HTML for people, JSON for machines: the JSON endpoints answer JSON unless HTML is all the caller takes, pages HTML unless JSON is. */
export function wantsHtml(ctx: Context): boolean {
  // a page answers JSON only to a caller that asks for it; an Accept header that cannot be read gets the page
  return isJsonEndpoint(ctx.path) ? ctx.accepts('json', 'html') === 'html' : ctx.accepts('html', 'json') !== 'json';
}

/**
 * Renders errors raised by our own routes and edge middleware (the engine renders its own), in
 * the endpoint's format. An error that is not exposed becomes `server_error` and is logged once
 * with its cause; a storage outage is 503 `temporarily_unavailable`; a client that went away is
 * logged at info as an abort.
 */
export function errorHandler(views: Views): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      // what no route answered, and a router's own 405 (a method none of its routes serves), come without a body
      if (ctx.status === 404 && ctx.body == null) throw new PageMissing('error.words.not_found');
      if (ctx.status === 405 && ctx.body == null) throw new MethodNotAllowed(`${ctx.method} is not supported here; use one of ${ctx.response.get('Allow')}`);
      // the engine renders a storage outage itself (503 temporarily_unavailable): tell when to come back, as Postern's own pages do
      if (ctx.status === 503 && !ctx.response.get('Retry-After')) ctx.set('Retry-After', RETRY_AFTER_SECONDS);
    } catch (thrown) {
      if (clientAborted(ctx, thrown)) {
        ctx.state.clientAborted = true;
        ctx.state.log?.info({ code: (thrown as { code?: unknown }).code }, 'client closed the request');
        ctx.status = 400;
        return;
      }
      const caught = isUnstorableText(thrown)
        ? new InvalidRequest('The request contains characters that are not allowed (such as NUL).', { cause: thrown })
        : asDatabaseUnavailable(thrown);
      if (caught instanceof StorageUnavailable) {
        renderUnavailable(ctx, views, caught);
        return;
      }
      const known = caught instanceof DomainError;
      const status = known ? caught.status : Number((caught as { status?: unknown }).status) || 500;
      const expose = known ? caught.expose : status < 500 && (caught as { expose?: unknown }).expose === true;
      // the engine's own errors (oidc-provider's OIDCProviderError) carry `error` and `error_description`
      const engine = caught as { error?: unknown; error_description?: unknown };
      const error = known ? caught.code : !expose ? 'server_error' : typeof engine.error === 'string' ? engine.error : 'invalid_request';
      const description = !expose
        ? 'The server could not complete the request.'
        : typeof engine.error_description === 'string' ? engine.error_description : (caught as Error).message;
      const missing = caught instanceof PageMissing;
      if (!expose) ctx.state.log?.error({ err: caught }, 'unhandled error');
      ctx.status = expose ? status : 500;
      if (wantsHtml(ctx)) {
        ctx.type = 'html';
        // our own messages are written for people (in their language when the catalog has them);
        // the engine's and unexposed ones get the page's words for the code
        // the switcher comes back to the path alone: the query of a refused request is not repeated
        const language = { ...languageOf(ctx), returnTo: ctx.path };
        const forPeople = isWorded(caught) ? language.translator.t(caught.messageKey, caught.messageValues) : description;
        ctx.body = views.render('error', page(ctx, { error, description: known ? forPeople : undefined, technical: known || !expose ? undefined : description, pageMissing: missing }), language);
      } else {
        ctx.body = { error, error_description: description };
      }
    }
  };
}

/** The error page's frame: how long to wait (from Retry-After, in whole minutes) and where to go. */
function page(ctx: Context, content: Pick<ErrorPage, 'error' | 'description' | 'technical' | 'pageMissing'>): ErrorPage {
  const retryAfter = Number(ctx.response.get('Retry-After'));
  return { ...content, retryAfterMinutes: retryAfter > 0 ? Math.ceil(retryAfter / 60) : undefined, accountLink: ACCOUNT_PATH, requestId: ctx.state.requestId };
}

/** 503 with `temporarily_unavailable`, through the outage log: an outage, not a bug. */
function renderUnavailable(ctx: Context, views: Views, error: StorageUnavailable): void {
  if (ctx.state.log) logOutage(ctx.state.log, error);
  ctx.status = 503;
  ctx.set('Retry-After', RETRY_AFTER_SECONDS);
  if (wantsHtml(ctx)) {
    ctx.type = 'html';
    ctx.body = views.render('error', page(ctx, { error: error.error }), { ...languageOf(ctx), returnTo: ctx.path });
  } else {
    ctx.body = { error: error.error, error_description: error.error_description };
  }
}
