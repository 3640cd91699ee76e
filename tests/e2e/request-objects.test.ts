import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidClientMetadata } from '../../src/domain/errors.ts';
import { availableBackends } from '../support/backends.ts';
import { REDIRECT_URI, seed, signIn, type Fixture } from '../support/relying-party.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { UserAgent } from '../support/user-agent.ts';

type Alg = 'RS256' | 'PS256' | 'ES256';

describe.each(availableBackends())('signed request objects (request parameter) on %s', (backend) => {
  let server: TestServer;
  let fixture: Fixture;
  let clientId: string;
  let config: oidc.Configuration;
  const keys = {} as Record<Alg, CryptoKey>;
  let stranger: CryptoKey;

  beforeAll(async () => {
    server = await startTestServer(backend);
    fixture = await seed(server);
    const publicKeys = [];
    for (const alg of ['RS256', 'PS256', 'ES256'] as const) {
      const pair = await generateKeyPair(alg, { extractable: true });
      keys[alg] = pair.privateKey;
      publicKeys.push({ ...(await exportJWK(pair.publicKey)), kid: alg, alg, use: 'sig' });
    }
    stranger = (await generateKeyPair('RS256')).privateKey;
    const { client, clientSecret } = await server.services.clients.create({
      name: 'Signed Requests',
      type: 'confidential',
      redirectUris: [REDIRECT_URI, 'http://localhost:8080/other'],
      requestObjects: { jwks: { keys: publicKeys } },
    });
    clientId = client.clientId;
    config = await oidc.discovery(new URL(server.issuer), clientId, clientSecret, oidc.ClientSecretBasic(clientSecret!), { execute: [oidc.allowInsecureRequests] });
  });
  afterAll(() => server?.close());

  async function requestObject(key: CryptoKey, alg: Alg, claims: Record<string, unknown>) {
    return new SignJWT({ client_id: clientId, response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid', ...claims })
      .setProtectedHeader({ alg, kid: alg, typ: 'oauth-authz-req+jwt' })
      .setIssuer(clientId)
      .setAudience(server.issuer)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key);
  }

  function authorizeWith(request: string, query: Record<string, string> = {}) {
    const url = new URL('/auth', server.issuer);
    for (const [name, value] of Object.entries({ client_id: clientId, request, ...query })) url.searchParams.set(name, value);
    return url;
  }

  /** The error, redirected to the client or — when the request cannot be trusted with a redirect — on Postern's error page. */
  async function redirectedError(url: URL) {
    const page = await new UserAgent(server.issuer).follow(url.toString());
    if (page.status !== 0) return { status: page.status, error: /<dt>Error<\/dt><dd><code>([a-z_]+)<\/code>/.exec(page.html)?.[1] };
    return Object.fromEntries(new URL(page.url).searchParams);
  }

  it('advertises request objects, signed with RS256, PS256 or ES256, and no request_uri', () => {
    const metadata = config.serverMetadata();
    expect(metadata.request_parameter_supported).toBe(true);
    expect(metadata.request_object_signing_alg_values_supported).toEqual(['RS256', 'PS256', 'ES256']);
    expect(metadata.request_uri_parameter_supported).toBeFalsy();
  });

  it.each(['RS256', 'PS256', 'ES256'] as const)('takes the request from a %s request object built by openid-client', async (alg) => {
    const verifier = oidc.randomPKCECodeVerifier();
    const nonce = oidc.randomNonce();
    const state = oidc.randomState();
    const url = await oidc.buildAuthorizationUrlWithJAR(
      config,
      { redirect_uri: REDIRECT_URI, scope: 'openid email', nonce, state, prompt: 'consent', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' },
      { key: keys[alg], kid: alg } as never,
    );
    const callback = await signIn(new UserAgent(server.issuer), url, fixture);
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state });
    expect(tokens.claims()).toMatchObject({ nonce, sub: fixture.accountId });
  });

  it('uses the request object over the query: its redirect_uri wins', async () => {
    const verifier = oidc.randomPKCECodeVerifier();
    const request = await requestObject(keys.RS256, 'RS256', { redirect_uri: 'http://localhost:8080/other', state: 's1', nonce: 'n1', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const callback = await signIn(new UserAgent(server.issuer), authorizeWith(request, { response_type: 'code', scope: 'openid', redirect_uri: REDIRECT_URI }), fixture);
    expect(`${callback.origin}${callback.pathname}`).toBe('http://localhost:8080/other');
  });

  it('refuses a request object signed by another key, an unsigned one, and one for another audience', async () => {
    const foreign = await requestObject(stranger, 'RS256', { state: 's', nonce: 'n', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' });
    expect(await redirectedError(authorizeWith(foreign))).toMatchObject({ error: 'invalid_request_object' });
    const unsigned = new UnsecuredJWT({ client_id: clientId, response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid', iss: clientId, aud: server.issuer }).encode();
    expect(await redirectedError(authorizeWith(unsigned))).toMatchObject({ error: 'invalid_request_object' });
    const elsewhere = await new SignJWT({ client_id: clientId, response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid' })
      .setProtectedHeader({ alg: 'RS256', kid: 'RS256' })
      .setIssuer(clientId)
      .setAudience('https://another-issuer.example')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(keys.RS256);
    expect(await redirectedError(authorizeWith(elsewhere))).toMatchObject({ error: 'invalid_request_object' });
  });

  it('refuses a plain request once a signed request object is required', async () => {
    await server.services.clients.setRequestObjects(clientId, { requireSignedRequestObject: true });
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT_URI, scope: 'openid', nonce: 'n', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' });
    expect(await redirectedError(url)).toMatchObject({ error: 'invalid_request' });
    await server.services.clients.setRequestObjects(clientId, { requireSignedRequestObject: false });
  });

  it('refuses private keys, both jwks and jwks_uri, and requiring request objects without keys', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const base = { name: 'X', type: 'confidential' as const, redirectUris: [REDIRECT_URI] };
    await expect(server.services.clients.create({ ...base, requestObjects: { jwks: { keys: [{ ...(await exportJWK(privateKey)) }] } } })).rejects.toThrow(/private key/);
    await expect(server.services.clients.create({ ...base, requestObjects: { jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } } })).rejects.toBeInstanceOf(InvalidClientMetadata);
    await expect(server.services.clients.create({ ...base, requestObjects: { requireSignedRequestObject: true } })).rejects.toThrow(/public keys/);
    await expect(server.services.clients.setRequestObjects(clientId, { jwksUri: 'https://keys.example/jwks' })).rejects.toThrow(/not both/);
  });
});
