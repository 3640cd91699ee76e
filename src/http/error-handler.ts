import type { Context, Middleware } from 'koa';
import { DomainError } from '../domain/errors.ts';
import type { Views } from '../interactions/views.ts';
import { asDatabaseUnavailable } from '../store/database-guard.ts';
import { StorageUnavailable } from '../store/unavailable.ts';

/**
 * Renders errors raised by our own routes (the engine renders its own). HTML for browsers, RFC 6749
 * style JSON otherwise. An error that is not exposed becomes `server_error` and is logged with its cause.
 */
export function errorHandler(views: Views): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (thrown) {
      const caught = asDatabaseUnavailable(thrown);
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
      if (!expose) ctx.state.log?.error({ err: caught }, 'unhandled error');
      ctx.status = expose ? status : 500;
      if (ctx.accepts('html', 'json') === 'html') {
        ctx.type = 'html';
        ctx.body = views.render('error', { title: 'Something went wrong', error, description, requestId: ctx.state.requestId });
      } else {
        ctx.body = { error, error_description: description };
      }
    }
  };
}

/** 503 with `temporarily_unavailable`, logged once (with its code) at warn: an outage, not a bug. */
function renderUnavailable(ctx: Context, views: Views, error: StorageUnavailable): void {
  ctx.state.log?.warn({ err: error.cause ?? error, tier: error.tier, code: error.code }, 'storage unavailable');
  ctx.status = 503;
  ctx.set('Retry-After', '5');
  if (ctx.accepts('html', 'json') === 'html') {
    ctx.type = 'html';
    ctx.body = views.render('error', {
      title: 'Temporarily unavailable',
      error: error.error,
      description: 'Postern cannot complete this right now. Nothing was changed; try again in a few seconds.',
      requestId: ctx.state.requestId,
    });
  } else {
    ctx.body = { error: error.error, error_description: error.error_description };
  }
}
