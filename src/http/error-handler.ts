import type { Middleware } from 'koa';
import { DomainError } from '../domain/errors.ts';
import type { Views } from '../interactions/views.ts';

/**
 * Renders errors raised by our own routes (the engine renders its own). HTML for browsers, RFC 6749
 * style JSON otherwise. An error that is not exposed becomes `server_error` and is logged with its cause.
 */
export function errorHandler(views: Views): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (caught) {
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
