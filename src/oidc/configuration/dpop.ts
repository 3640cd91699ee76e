import type { Configuration } from 'oidc-provider';

type DPoPFeature = NonNullable<NonNullable<Configuration['features']>['dPoP']>;

/**
 * DPoP (RFC 9449). The nonce secret is derived from the master key, so every instance issues and
 * accepts the same nonces. With `requireNonce`, every proof must carry a nonce the server chose
 * (§8): a proof made in advance by code that once ran in the client (XSS, a stolen device
 * backup) goes stale within minutes, whatever `iat` it claims, and a client's wrong clock does
 * not matter. The engine asks only when a proof is presented, so clients without DPoP never see a
 * nonce; clients with DPoP (openid-client, most libraries) retry once on `use_dpop_nonce`.
 * A proof's `jti` is remembered (ReplayDetection, in the ephemeral tier shared by every instance)
 * for as long as the proof is acceptable: a replayed proof is refused.
 */
export function dpopConfiguration(nonceSecret: Buffer, requireNonce: boolean): DPoPFeature {
  return { enabled: true, nonceSecret, requireNonce: () => requireNonce, allowReplay: false };
}
