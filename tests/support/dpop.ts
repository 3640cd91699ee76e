import { createHash, hkdfSync, randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';

export interface ProofKey {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

export function proofKey(): Promise<ProofKey> {
  return generateKeyPair('ES256', { extractable: true });
}

export async function thumbprintOf(key: ProofKey): Promise<string> {
  return calculateJwkThumbprint(await exportJWK(key.publicKey));
}

export interface ProofClaims {
  nonce?: string | undefined;
  /** the access token the proof goes with (its `ath`) */
  accessToken?: string | undefined;
  /** seconds since the epoch; default now */
  iat?: number | undefined;
}

/** A DPoP proof (RFC 9449 §4.2) built by hand, for the attacks openid-client would never make. */
export async function dpopProof(key: ProofKey, htm: string, htu: string, claims: ProofClaims = {}): Promise<string> {
  const payload: Record<string, unknown> = { htm, htu, jti: randomUUID() };
  if (claims.nonce !== undefined) payload.nonce = claims.nonce;
  if (claims.accessToken !== undefined) payload.ath = createHash('sha256').update(claims.accessToken).digest('base64url');
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(key.publicKey) })
    .setIssuedAt(claims.iat ?? Math.floor(Date.now() / 1000))
    .sign(key.privateKey);
}

/**
 * A nonce as the engine computes it (lib/helpers/challenge.js: HKDF over a 60-second step), for
 * `stepsAgo` steps in the past: one older than its five-step window is stale.
 */
export function nonceFor(secret: Buffer, stepsAgo: number): string {
  const step = Math.floor(Date.now() / 1000 / 60) - stepsAgo;
  const info = Buffer.alloc(8);
  info.writeBigUInt64BE(BigInt(step));
  return Buffer.from(hkdfSync('sha256', secret, info, 'DPoP', 32)).toString('base64url');
}
