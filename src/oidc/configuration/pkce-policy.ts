import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import type { PkcePolicy } from '../../domain/clients.ts';

type PkceRequired = NonNullable<NonNullable<Configuration['pkce']>['required']>;
type EngineClient = Parameters<PkceRequired>[1];

/** The client metadata property that carries a client's PKCE policy (absent: required). */
export const PKCE_POLICY = 'pkce_policy';

function carriesNonce(ctx: KoaContextWithOIDC): boolean {
  const { nonce, scope } = ctx.oidc.params ?? {};
  return typeof nonce === 'string' && nonce !== '' && typeof scope === 'string' && scope.split(' ').includes('openid');
}

/**
 * PKCE is required of every request, except that a confidential client whose policy is
 * `nonce_instead` may leave it out of an OpenID Connect request carrying a nonce: the code is
 * then bound to the client by its authentication at the token endpoint, and the ID token to the
 * request by the nonce. A public client never qualifies, whatever its metadata says.
 */
export const pkceRequired: PkceRequired = (ctx: KoaContextWithOIDC, client: EngineClient) => {
  const policy = client.metadata()[PKCE_POLICY] as PkcePolicy | undefined;
  if (policy !== 'nonce_instead' || client.clientAuthMethod === 'none') return true;
  return !carriesNonce(ctx);
};

export function validatePkcePolicy(value: unknown, metadata: Record<string, unknown>): void {
  if (value === undefined) return;
  if (value !== 'required' && value !== 'nonce_instead') throw new TypeError(`${PKCE_POLICY} must be "required" or "nonce_instead"`);
  if (value === 'nonce_instead' && metadata.token_endpoint_auth_method === 'none') {
    throw new TypeError(`${PKCE_POLICY} "nonce_instead" is not available to public clients`);
  }
}
