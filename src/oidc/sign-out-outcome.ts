import type { Middleware } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { matchesEngineRoute } from './engine-path.ts';

const isConfirm = matchesEngineRoute('/session/end/confirm');
const SUCCESS_PATH = '/session/end/success';

/**
 * After a full sign-out the engine sends the browser to its success page without saying which
 * application asked for it (it forwards `client_id` only when just that application was signed
 * out). Name it there too, so the page can say what happened. A post-logout redirect is left as it is.
 */
export function nameClientAfterSignOut(): Middleware {
  return async (ctx, next) => {
    await next();
    if (ctx.method !== 'POST' || ctx.status !== 303 || !isConfirm(ctx.path)) return;
    const clientId = (ctx as unknown as Partial<KoaContextWithOIDC>).oidc?.client?.clientId;
    // the engine's redirects are absolute URLs on the issuer
    const target = URL.parse(ctx.response.get('Location'));
    if (!clientId || !target || target.pathname !== SUCCESS_PATH || target.searchParams.has('client_id')) return;
    target.searchParams.set('client_id', clientId);
    ctx.set('Location', target.href);
  };
}
