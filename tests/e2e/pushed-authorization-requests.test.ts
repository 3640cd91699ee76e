import { exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import * as oidc from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { discover, REDIRECT_URI, signIn, useSeededServer, type Fixture, type SeededServer } from '../support/relying-party.ts';
import { UserAgent } from '../support/user-agent.ts';

const PAR_URN = 'urn:ietf:params:oauth:request_uri:';

interface Checks {
  verifier: string;
  state: string;
  nonce: string;
}

async function authorizationParameters(): Promise<{ parameters: Record<string, string>; checks: Checks }> {
  const verifier = oidc.randomPKCECodeVerifier();
  const checks = { verifier, state: oidc.randomState(), nonce: oidc.randomNonce() };
  return {
    checks,
    parameters: {
      redirect_uri: REDIRECT_URI,
      scope: 'openid email',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: checks.state,
      nonce: checks.nonce,
      prompt: 'consent',
    },
  };
}

/** The error, redirected to the client or — when the request cannot be trusted with a redirect — on Postern's error page. */
async function refusal(server: SeededServer['server'], url: URL) {
  const page = await new UserAgent(server.issuer).follow(url.toString());
  if (page.status !== 0) return { status: page.status, error: /<dt>Error<\/dt><dd><code>([a-z_]+)<\/code>/.exec(page.html)?.[1] };
  return Object.fromEntries(new URL(page.url).searchParams);
}

/** Pushes the request, signs in through the request_uri and redeems the code. */
async function pushSignInAndExchange(t: SeededServer, config: oidc.Configuration, fixture: Fixture) {
  const { parameters, checks } = await authorizationParameters();
  const url = await oidc.buildAuthorizationUrlWithPAR(config, parameters);
  const callback = await signIn(new UserAgent(t.server.issuer), url, fixture);
  const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: checks.verifier, expectedState: checks.state, expectedNonce: checks.nonce });
  return { url, tokens };
}

describe.each(availableBackends())('pushed authorization requests (RFC 9126) on %s', (backend) => {
  const t = useSeededServer(backend);

  it('advertises the endpoint, and no global requirement by default', () => {
    const metadata = t.config.serverMetadata();
    expect(metadata.pushed_authorization_request_endpoint).toBe(`${t.server.issuer}/request`);
    expect(metadata.require_pushed_authorization_requests).toBeUndefined();
  });

  it('takes a pushed request: the browser carries only client_id and request_uri, and the code works', async () => {
    const { url, tokens } = await pushSignInAndExchange(t, t.config, t.fixture);
    expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
    expect(url.searchParams.get('request_uri')).toMatch(new RegExp(`^${PAR_URN}`));
    expect(tokens.claims()).toMatchObject({ sub: t.fixture.accountId });
  });

  it('refuses a request_uri used once already, one unknown, and one past its lifetime', async () => {
    const { url } = await pushSignInAndExchange(t, t.config, t.fixture);
    expect(await refusal(t.server, url)).toMatchObject({ error: 'invalid_request_uri' });

    const unknown = new URL(url);
    unknown.searchParams.set('request_uri', `${PAR_URN}not-a-pushed-request`);
    expect(await refusal(t.server, unknown)).toMatchObject({ error: 'invalid_request_uri' });

    const { parameters } = await authorizationParameters();
    const pushed = await oidc.buildAuthorizationUrlWithPAR(t.config, parameters);
    const id = pushed.searchParams.get('request_uri')!.slice(PAR_URN.length);
    // its lifetime (60 s) passed: the stored record says it expired a second ago
    const adapter = t.server.provider.PushedAuthorizationRequest.adapter;
    const stored = await adapter.find(id);
    expect(stored).toBeDefined();
    await adapter.upsert(id, { ...stored!, exp: Math.floor(Date.now() / 1000) - 1 }, 60);
    expect(await refusal(t.server, pushed)).toMatchObject({ error: 'invalid_request_uri' });
  });

  it('gives one code for a pushed request that racing tabs present at once; the others are refused', async () => {
    const agent = new UserAgent(t.server.issuer);
    const first = await authorizationParameters();
    await signIn(agent, await oidc.buildAuthorizationUrlWithPAR(t.config, first.parameters), t.fixture);
    // signed in and consented: the next request is answered at once, without a page
    const { parameters } = await authorizationParameters();
    const { prompt: _prompt, ...silent } = parameters;
    const url = await oidc.buildAuthorizationUrlWithPAR(t.config, silent);
    const answers = await Promise.all(Array.from({ length: 6 }, () => agent.follow(url.toString())));
    const codes = answers.filter((page) => page.status === 0 && new URL(page.url).searchParams.has('code'));
    expect(codes).toHaveLength(1);
    for (const page of answers.filter((answer) => !codes.includes(answer))) {
      const error = page.status === 0 ? new URL(page.url).searchParams.get('error') : /<dt>Error<\/dt><dd><code>([a-z_]+)<\/code>/.exec(page.html)?.[1];
      expect(error).toBe('invalid_request_uri');
    }
  });

  it('refuses a push without client authentication', async () => {
    const { parameters } = await authorizationParameters();
    const response = await fetch(new URL('/request', t.server.issuer), { method: 'POST', body: new URLSearchParams({ ...parameters, client_id: t.fixture.clientId, response_type: 'code' }) });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'invalid_client' });
  });

  describe('a client that requires pushed requests', () => {
    let fixture: Fixture;
    let config: oidc.Configuration;
    beforeAll(async () => {
      const { client, clientSecret } = await t.server.services.clients.create({ name: 'Pushing App', type: 'confidential', redirectUris: [REDIRECT_URI], requirePushedAuthorizationRequests: true });
      fixture = { ...t.fixture, clientId: client.clientId, clientSecret: clientSecret! };
      config = await discover(t.server, fixture);
    });

    it('is refused a request sent straight to /auth', async () => {
      const { parameters } = await authorizationParameters();
      expect(await refusal(t.server, oidc.buildAuthorizationUrl(config, parameters))).toMatchObject({ error: 'invalid_request', error_description: 'Pushed Authorization Request must be used' });
    });

    it('signs in through a pushed request', async () => {
      const { tokens } = await pushSignInAndExchange(t, config, fixture);
      expect(tokens.claims()).toMatchObject({ sub: t.fixture.accountId });
    });
  });

  describe('a signed request object pushed (RFC 9101 through RFC 9126)', () => {
    let fixture: Fixture;
    let config: oidc.Configuration;
    let key: CryptoKey;
    beforeAll(async () => {
      const pair = await generateKeyPair('ES256', { extractable: true });
      key = pair.privateKey;
      const { client, clientSecret } = await t.server.services.clients.create({
        name: 'Signing Pusher',
        type: 'confidential',
        redirectUris: [REDIRECT_URI],
        requestObjects: { jwks: { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] }, requireSignedRequestObject: true },
        requirePushedAuthorizationRequests: true,
      });
      fixture = { ...t.fixture, clientId: client.clientId, clientSecret: clientSecret! };
      config = await discover(t.server, fixture);
    });

    it('takes the request object from the push', async () => {
      const { parameters, checks } = await authorizationParameters();
      const jar = await oidc.buildAuthorizationUrlWithJAR(config, parameters, { key, kid: 'k1' } as never);
      const url = await oidc.buildAuthorizationUrlWithPAR(config, jar.searchParams);
      const callback = await signIn(new UserAgent(t.server.issuer), url, fixture);
      const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: checks.verifier, expectedState: checks.state, expectedNonce: checks.nonce });
      expect(tokens.claims()).toMatchObject({ sub: t.fixture.accountId, nonce: checks.nonce });
    });

    it('refuses at the push a request object signed by another key, and a plain pushed request', async () => {
      const { parameters } = await authorizationParameters();
      const stranger = (await generateKeyPair('ES256')).privateKey;
      const forged = await oidc.buildAuthorizationUrlWithJAR(config, parameters, { key: stranger, kid: 'k1' } as never);
      await expect(oidc.buildAuthorizationUrlWithPAR(config, forged.searchParams)).rejects.toMatchObject({ error: 'invalid_request_object' });
      await expect(oidc.buildAuthorizationUrlWithPAR(config, parameters)).rejects.toMatchObject({ error: 'invalid_request' });
    });
  });
});

describe.each(availableBackends())('POSTERN_REQUIRE_PAR=true on %s', (backend) => {
  const t = useSeededServer(backend, { POSTERN_REQUIRE_PAR: 'true' });

  it('advertises the requirement', () => {
    expect(t.config.serverMetadata().require_pushed_authorization_requests).toBe(true);
  });

  it('refuses any client a request sent straight to /auth, and signs in through a pushed one', async () => {
    const { parameters } = await authorizationParameters();
    expect(await refusal(t.server, oidc.buildAuthorizationUrl(t.config, parameters))).toMatchObject({ error: 'invalid_request', error_description: 'Pushed Authorization Request must be used' });
    const { tokens } = await pushSignInAndExchange(t, t.config, t.fixture);
    expect(tokens.claims()).toMatchObject({ sub: t.fixture.accountId });
  });
});
