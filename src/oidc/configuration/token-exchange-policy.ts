import type { ExtraTokenClaims } from './extra-token-claims.ts';

export { TOKEN_EXCHANGE_GRANT } from '../../domain/clients.ts';
/** What an exchanged access token records as its grant type (`gty`), to tell it apart. */
export const EXCHANGED_GTY = 'token_exchange';

/**
 * The client metadata property listing the APIs (resource identifiers) a client may exchange a
 * user's access token for. Absent or empty: it may not exchange at all. Postern's own, not RFC 7591.
 */
export const TOKEN_EXCHANGE_AUDIENCES = 'token_exchange_audiences';

export function validateTokenExchangeAudiences(value: unknown): void {
  if (value === undefined) return;
  if (!Array.isArray(value) || value.some((entry) => typeof entry !== 'string' || entry === '')) {
    throw new TypeError(`${TOKEN_EXCHANGE_AUDIENCES} must be an array of resource identifiers`);
  }
}

/**
 * An exchanged token says who acts for the user (RFC 8693 §4.1): the client that exchanged it,
 * in the JWT and in the introspection answer alike.
 */
export const tokenExchangeActor: ExtraTokenClaims = (_ctx, token) =>
  token.kind === 'AccessToken' && (token as { gty?: string }).gty === EXCHANGED_GTY ? { act: { sub: token.clientId } } : undefined;
