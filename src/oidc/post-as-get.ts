import type { Middleware } from 'koa';
import { stringify } from 'node:querystring';
import { InvalidRequest } from '../domain/errors.ts';
import { readFormBody } from './engine-body.ts';
import { engineRouteKey } from './engine-path.ts';

const ENDPOINTS = ['/auth', '/session/end'].map(engineRouteKey);

/**
 * OpenID Connect Core §3.1.2.1 (and RP-Initiated Logout §2): the authorization and end-session
 * endpoints MUST accept POST. The engine serves POST there only with `enableHttpPostMethods`, and
 * then a cross-site POST arrives without the SameSite=Lax session cookie, so the user looks signed
 * out (and `prompt=none` fails). Loosening the cookie to SameSite=None would expose every engine
 * route to cross-site requests with it. Instead a POST is answered 303 to the same endpoint with its
 * form as the query: the browser follows with a top-level GET, which does carry Lax cookies, and
 * the engine handles it as any GET.
 */
export function postAsGet(): Middleware {
  return async (ctx, next) => {
    if (ctx.method !== 'POST' || !ENDPOINTS.includes(engineRouteKey(ctx.path))) return next();
    if (!ctx.is('application/x-www-form-urlencoded')) throw new InvalidRequest('parameters must be sent as application/x-www-form-urlencoded');
    const form = await readFormBody(ctx);
    ctx.status = 303;
    ctx.set('Cache-Control', 'no-store');
    ctx.redirect(`${ctx.path}?${stringify(form)}`);
  };
}
