import type { Middleware } from 'koa';
import { isCodeVerification } from './paths.ts';
import { setPrefill } from './outcome.ts';

/**
 * verification_uri_complete (`/device?user_code=…`): the engine would answer with a page that
 * submits the code by script. Postern takes the code off the query instead, and the engine's code
 * page then shows it filled in: it works without JavaScript, and the person still presses Continue
 * and then compares the code with the device's screen (RFC 8628 §5.4), so a link alone does nothing.
 */
export function prefillUserCode(): Middleware {
  return async (ctx, next) => {
    if ((ctx.method === 'GET' || ctx.method === 'HEAD') && isCodeVerification(ctx.path) && ctx.querystring) {
      const given = ctx.query.user_code;
      if (typeof given === 'string') setPrefill(ctx, given.slice(0, 32));
      ctx.querystring = '';
    }
    await next();
  };
}
