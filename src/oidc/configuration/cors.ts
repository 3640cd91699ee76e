import type { Client, KoaContextWithOIDC } from 'oidc-provider';

/**
 * CORS on the token-side endpoints: a browser application (public client) may call them from the
 * origin of one of its registered redirect URIs, and so may any client at userinfo. Confidential
 * clients are servers and get no CORS. The authorization endpoint is a navigation, never CORS.
 */
export function clientBasedCORS(ctx: KoaContextWithOIDC, origin: string, client: Client): boolean {
  if (origin === 'null') return false;
  if (ctx.oidc.route !== 'userinfo' && client.clientAuthMethod !== 'none') return false;
  return client.redirectUris?.some((uri) => URL.parse(uri)?.origin === origin) ?? false;
}
