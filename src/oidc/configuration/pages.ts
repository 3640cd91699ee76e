import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import { ACCOUNT_PATH } from '../../interactions/paths.ts';
import type { Views } from '../../interactions/views.ts';
import { engineErrorPage } from './error-page.ts';
import { useRequestLanguage } from '../../pages/language/page-language.ts';

/**
 * The authorization or end-session request's ui_locales, when the engine has read its parameters.
 * The switcher comes back to the path alone: the query may hold a redirect URI the page must not repeat.
 */
function requestLanguage(ctx: KoaContextWithOIDC) {
  return useRequestLanguage(ctx, (ctx.oidc?.params as Record<string, unknown> | undefined)?.ui_locales, ctx.path);
}

type Features = NonNullable<Configuration['features']>;
type LogoutFeature = NonNullable<Features['rpInitiatedLogout']>;

function clientName(ctx: KoaContextWithOIDC): string | undefined {
  const client = ctx.oidc.client as unknown as { clientName?: string; clientId?: string } | undefined;
  return client?.clientName ?? client?.clientId;
}

/** The engine's own pages (errors, RP-initiated logout) rendered from our templates. */
export function pagesConfiguration(views: Views): { renderError: NonNullable<Configuration['renderError']>; logout: LogoutFeature } {
  return {
    renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = views.render('error', engineErrorPage(ctx, out), requestLanguage(ctx));
    },
    logout: {
      enabled: true,
      logoutSource(ctx, form) {
        ctx.type = 'html';
        ctx.body = views.render('logout', { engineForm: form, clientName: clientName(ctx) }, requestLanguage(ctx));
      },
      async postLogoutSuccessSource(ctx) {
        // what happened is read from this browser's session: "Stay signed in" ends nothing, and
        // "Only sign out of …" ends only that application
        const session = await ctx.oidc.provider.Session.get(ctx);
        ctx.type = 'html';
        ctx.body = views.render('logged-out', { clientName: clientName(ctx), signedIn: Boolean(session.accountId), accountLink: ACCOUNT_PATH }, requestLanguage(ctx));
      },
    },
  };
}
