import { importJWK, SignJWT, type JWK } from 'jose';

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** Logout tokens are for immediate use (Back-Channel Logout 1.0 §2.4 recommends at most two minutes). */
export const LOGOUT_TOKEN_TTL_SECONDS = 120;
const KEY_READ_MS = 30_000;

export interface LogoutTokenClaims {
  clientId: string;
  sub: string;
  sid: string | null;
  jti: string;
}

/**
 * Signs logout tokens (OpenID Connect Back-Channel Logout 1.0 §2.4) with the signing key current
 * at the time: `typ` logout+jwt, iss, aud (the client_id), iat, exp, jti, the back-channel logout
 * event, sub and, when known, sid; never a nonce.
 */
export function createLogoutTokenSigner(issuer: string, currentKey: () => Promise<JWK>): (claims: LogoutTokenClaims) => Promise<string> {
  const imported = new Map<string, ReturnType<typeof importJWK>>();
  // read at most every KEY_READ_MS: a key stays published well after it stops being current
  let read: { at: number; jwk: Promise<JWK> } | undefined;
  const jwkNow = () => {
    if (!read || Date.now() - read.at > KEY_READ_MS) {
      const jwk = currentKey();
      read = { at: Date.now(), jwk };
      jwk.catch(() => (read = undefined));
    }
    return read.jwk;
  };
  return async (claims) => {
    const jwk = await jwkNow();
    if (!jwk.kid) throw new TypeError('the signing key has no kid');
    let key = imported.get(jwk.kid);
    if (!key) {
      key = importJWK(jwk, 'RS256');
      imported.set(jwk.kid, key);
    }
    return new SignJWT({ events: { [BACKCHANNEL_LOGOUT_EVENT]: {} }, ...(claims.sid ? { sid: claims.sid } : {}) })
      .setProtectedHeader({ alg: 'RS256', typ: 'logout+jwt', kid: jwk.kid })
      .setIssuer(issuer)
      .setAudience(claims.clientId)
      .setSubject(claims.sub)
      .setIssuedAt()
      .setExpirationTime(`${LOGOUT_TOKEN_TTL_SECONDS}s`)
      .setJti(claims.jti)
      .sign(await key);
  };
}
