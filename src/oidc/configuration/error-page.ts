import type { KoaContextWithOIDC } from 'oidc-provider';
import { ACCOUNT_PATH } from '../../interactions/paths.ts';
import type { ErrorPage } from '../../interactions/views.ts';

interface ErrorOut {
  error: string;
  error_description?: string | undefined;
  state?: string | undefined;
}

interface KnownClient {
  clientId: string;
  clientName?: string;
  redirectUriAllowed(uri: string): boolean;
}

/**
 * A way back to the application after an error the engine could not send it: an authorization
 * error response (RFC 6749 §4.1.2.1, with `iss` as RFC 9207 asks) to the redirect URI of the
 * request, only when that URI is one the client registered and the answer goes in the query.
 */
function backLink(ctx: KoaContextWithOIDC, client: KnownClient | undefined, out: ErrorOut): string | undefined {
  const params = (ctx.oidc?.params ?? {}) as Record<string, unknown>;
  const redirectUri = params.redirect_uri;
  if (!client || typeof redirectUri !== 'string' || !client.redirectUriAllowed(redirectUri)) return undefined;
  if (params.response_mode !== undefined && params.response_mode !== 'query') return undefined;
  if (out.error === 'invalid_redirect_uri' || out.error === 'invalid_client') return undefined;
  const url = new URL(redirectUri);
  url.searchParams.set('error', out.error);
  if (typeof params.state === 'string') url.searchParams.set('state', params.state);
  url.searchParams.set('iss', ctx.oidc.issuer);
  return url.href;
}

/** What the error page shows for an error the engine renders itself. */
export function engineErrorPage(ctx: KoaContextWithOIDC, out: ErrorOut): ErrorPage {
  const client = ctx.oidc?.client as unknown as KnownClient | undefined;
  const retryAfter = Number(ctx.response.get('Retry-After'));
  return {
    error: String(out.error),
    technical: out.error_description ? String(out.error_description) : undefined,
    clientName: client ? (client.clientName ?? client.clientId) : undefined,
    backLink: backLink(ctx, client, out),
    retryAfterMinutes: retryAfter > 0 ? Math.ceil(retryAfter / 60) : undefined,
    accountLink: ACCOUNT_PATH,
    requestId: ctx.state.requestId as string | undefined,
  };
}
