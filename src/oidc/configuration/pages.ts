import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import type { Views } from '../../interactions/views.ts';

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
      ctx.body = views.render('error', {
        title: 'Something went wrong',
        error: String(out.error),
        description: String(out.error_description ?? 'The request could not be completed.'),
        requestId: ctx.state.requestId as string | undefined,
      });
    },
    logout: {
      enabled: true,
      logoutSource(ctx, form) {
        ctx.type = 'html';
        ctx.body = views.render('logout', { title: 'Sign out', engineForm: form, clientName: clientName(ctx) });
      },
      postLogoutSuccessSource(ctx) {
        ctx.type = 'html';
        ctx.body = views.render('logged-out', { title: 'Signed out', clientName: clientName(ctx) });
      },
    },
  };
}
