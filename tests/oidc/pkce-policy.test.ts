import type { KoaContextWithOIDC } from 'oidc-provider';
import { describe, expect, it } from 'vitest';
import { pkceRequired, validatePkcePolicy } from '../../src/oidc/configuration/pkce-policy.ts';

type Client = Parameters<typeof pkceRequired>[1];

function client(authMethod: string, policy?: string): Client {
  return { clientAuthMethod: authMethod, metadata: () => (policy ? { pkce_policy: policy } : {}) } as unknown as Client;
}

function request(params: Record<string, string>): KoaContextWithOIDC {
  return { oidc: { params } } as unknown as KoaContextWithOIDC;
}

describe('pkceRequired', () => {
  const withNonce = request({ scope: 'openid profile', nonce: 'n-0S6_WzA2Mj' });

  it('requires PKCE unless a confidential nonce_instead client sends openid and a nonce', () => {
    expect(pkceRequired(withNonce, client('client_secret_basic'))).toBe(true);
    expect(pkceRequired(withNonce, client('client_secret_basic', 'required'))).toBe(true);
    expect(pkceRequired(withNonce, client('client_secret_post', 'nonce_instead'))).toBe(false);
    expect(pkceRequired(request({ scope: 'openid' }), client('client_secret_post', 'nonce_instead'))).toBe(true);
    expect(pkceRequired(request({ scope: 'openid', nonce: '' }), client('client_secret_post', 'nonce_instead'))).toBe(true);
    expect(pkceRequired(request({ scope: 'read', nonce: 'x' }), client('client_secret_post', 'nonce_instead'))).toBe(true);
  });

  it('holds a public client to PKCE whatever its metadata says', () => {
    expect(pkceRequired(withNonce, client('none', 'nonce_instead'))).toBe(true);
  });

  it('refuses the policy in a public client registration and unknown values', () => {
    expect(() => validatePkcePolicy('nonce_instead', { token_endpoint_auth_method: 'none' })).toThrow(/public/);
    expect(() => validatePkcePolicy('off', { token_endpoint_auth_method: 'client_secret_basic' })).toThrow(TypeError);
    expect(() => validatePkcePolicy('nonce_instead', { token_endpoint_auth_method: 'client_secret_basic' })).not.toThrow();
  });
});
