import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidClientMetadata } from '../../src/domain/errors.ts';
import { availableBackends } from '../support/backends.ts';
import { REDIRECT_URI, seed, signIn, type Fixture } from '../support/relying-party.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { UserAgent } from '../support/user-agent.ts';

describe.each(availableBackends())('per-client PKCE policy on %s', (backend) => {
  let server: TestServer;
  let fixture: Fixture;
  let relaxed: { clientId: string; config: oidc.Configuration };
  let strict: oidc.Configuration;

  beforeAll(async () => {
    server = await startTestServer(backend);
    fixture = await seed(server);
    strict = await oidc.discovery(new URL(server.issuer), fixture.clientId, fixture.clientSecret, oidc.ClientSecretBasic(fixture.clientSecret), { execute: [oidc.allowInsecureRequests] });
    const { client, clientSecret } = await server.services.clients.create({
      name: 'Module Without PKCE',
      type: 'confidential',
      redirectUris: [REDIRECT_URI],
      tokenEndpointAuthMethod: 'client_secret_post',
      pkcePolicy: 'nonce_instead',
    });
    relaxed = {
      clientId: client.clientId,
      config: await oidc.discovery(new URL(server.issuer), client.clientId, clientSecret, oidc.ClientSecretPost(clientSecret!), { execute: [oidc.allowInsecureRequests] }),
    };
  });
  afterAll(() => server?.close());

  function authorizationUrl(config: oidc.Configuration, parameters: Record<string, string>) {
    return oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT_URI, scope: 'openid', state: oidc.randomState(), ...parameters });
  }

  /** The error the authorization endpoint redirects back with, before any page is shown. */
  async function authorizationError(url: URL) {
    const page = await new UserAgent(server.issuer).follow(url.toString());
    expect(page.status, page.html.slice(0, 300)).toBe(0);
    return Object.fromEntries(new URL(page.url).searchParams);
  }

  it('refuses a request without PKCE from a client with the default policy, nonce or not', async () => {
    const error = await authorizationError(authorizationUrl(strict, { nonce: oidc.randomNonce() }));
    expect(error).toMatchObject({ error: 'invalid_request', error_description: expect.stringMatching(/PKCE/) });
  });

  it('lets a nonce_instead client leave PKCE out of a request with a nonce, and binds the ID token to it', async () => {
    const nonce = oidc.randomNonce();
    const url = authorizationUrl(relaxed.config, { nonce, prompt: 'consent' });
    const callback = await signIn(new UserAgent(server.issuer), url, fixture);
    const tokens = await oidc.authorizationCodeGrant(relaxed.config, callback, { expectedState: url.searchParams.get('state')!, expectedNonce: nonce });
    expect(tokens.claims()).toMatchObject({ sub: fixture.accountId, nonce, aud: relaxed.clientId });
  });

  it('still refuses that client a request with neither PKCE nor nonce, or a nonce without openid', async () => {
    expect(await authorizationError(authorizationUrl(relaxed.config, {}))).toMatchObject({ error: 'invalid_request', error_description: expect.stringMatching(/PKCE/) });
    const withoutOpenid = authorizationUrl(relaxed.config, { scope: 'read', nonce: oidc.randomNonce() });
    // the engine refuses a nonce without openid before the PKCE policy is asked
    expect(await authorizationError(withoutOpenid)).toMatchObject({ error: 'invalid_request' });
  });

  it('still checks PKCE when that client sends it', async () => {
    const verifier = oidc.randomPKCECodeVerifier();
    const url = authorizationUrl(relaxed.config, { nonce: oidc.randomNonce(), code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const callback = await signIn(new UserAgent(server.issuer), url, fixture);
    await expect(oidc.authorizationCodeGrant(relaxed.config, callback, { expectedState: url.searchParams.get('state')!, pkceCodeVerifier: oidc.randomPKCECodeVerifier() })).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('never relaxes PKCE for a public client', async () => {
    await expect(server.services.clients.create({ name: 'SPA', type: 'public', redirectUris: [REDIRECT_URI], pkcePolicy: 'nonce_instead' })).rejects.toBeInstanceOf(InvalidClientMetadata);
    const { client } = await server.services.clients.create({ name: 'SPA', type: 'public', redirectUris: [REDIRECT_URI] });
    await expect(server.services.clients.setPkcePolicy(client.clientId, 'nonce_instead')).rejects.toBeInstanceOf(InvalidClientMetadata);
    expect((await server.services.clients.get(client.clientId)).pkcePolicy).toBe('required');
  });

  it('takes effect at once when the policy is set back to required', async () => {
    await server.services.clients.setPkcePolicy(relaxed.clientId, 'required');
    expect(await authorizationError(authorizationUrl(relaxed.config, { nonce: oidc.randomNonce() }))).toMatchObject({ error: 'invalid_request' });
    await server.services.clients.setPkcePolicy(relaxed.clientId, 'nonce_instead');
  });
});
