import * as oidc from 'openid-client';
import { describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { useSeededServer, REDIRECT_URI, seed, signIn, startAuthorization, type Fixture } from '../support/relying-party.ts';
import type { TestServer } from '../support/test-server.ts';
import { formAction, hiddenField, UserAgent } from '../support/user-agent.ts';

async function tokenRequest(server: TestServer, fixture: Fixture, fields: Record<string, string>, secret = fixture.clientSecret) {
  const response = await fetch(new URL('/token', server.issuer), {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(fixture.clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`,
    },
    body: new URLSearchParams(fields),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function authorizationUrl(server: TestServer, fixture: Fixture, parameters: Record<string, string | undefined>): string {
  const url = new URL('/auth', server.issuer);
  const defaults: Record<string, string> = {
    client_id: fixture.clientId,
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    scope: 'openid',
    state: 'xyz',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
  };
  for (const [key, value] of Object.entries({ ...defaults, ...parameters })) if (value !== undefined) url.searchParams.set(key, value);
  return url.toString();
}

describe.each(availableBackends())('refused requests on %s', (backend) => {
  const t = useSeededServer(backend);

  async function codeFor(parameters: Record<string, string> = {}) {
    const start = await startAuthorization(t.config, parameters);
    const callback = await signIn(new UserAgent(t.server.issuer), start.url, t.fixture);
    return { start, callback, code: callback.searchParams.get('code')! };
  }

  describe('authorization endpoint', () => {
    async function errorAtCallback(parameters: Record<string, string | undefined>) {
      const page = await new UserAgent(t.server.issuer).get(authorizationUrl(t.server, t.fixture, parameters));
      expect(page.status).toBe(0);
      const callback = new URL(page.url);
      expect(`${callback.origin}${callback.pathname}`).toBe(REDIRECT_URI);
      return callback.searchParams;
    }

    it('refuses a request without PKCE', async () => {
      const result = await errorAtCallback({ code_challenge: undefined, code_challenge_method: undefined });
      expect(result.get('error')).toBe('invalid_request');
      expect(result.get('error_description')).toMatch(/PKCE/);
      expect(result.get('iss')).toBe(t.server.issuer);
    });

    it('refuses the plain PKCE method', async () => {
      const result = await errorAtCallback({ code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' });
      expect(result.get('error')).toBe('invalid_request');
      expect(result.get('error_description')).toMatch(/code_challenge_method/);
    });

    it('refuses the implicit and hybrid response types', async () => {
      for (const responseType of ['token', 'id_token token', 'code id_token']) {
        const page = await new UserAgent(t.server.issuer).get(authorizationUrl(t.server, t.fixture, { response_type: responseType, nonce: 'n' }));
        const where = page.status === 0 ? new URL(page.url) : undefined;
        const error = where?.searchParams.get('error') ?? new URLSearchParams(where?.hash.slice(1)).get('error') ?? (page.html.includes('unsupported_response_type') ? 'unsupported_response_type' : undefined);
        expect(error).toBe('unsupported_response_type');
      }
    });

    it('refuses a redirect_uri that is not registered exactly, without redirecting to it', async () => {
      for (const redirectUri of [`${REDIRECT_URI}/extra`, `${REDIRECT_URI}?x=1`, 'http://localhost:8081/callback', 'https://evil.example/callback']) {
        const page = await new UserAgent(t.server.issuer).get(authorizationUrl(t.server, t.fixture, { redirect_uri: redirectUri }));
        expect(page.status).toBe(400);
        expect(page.html).toContain('redirect_uri');
      }
    });

    it('puts iss in the authorization response (RFC 9207)', async () => {
      const { callback } = await codeFor();
      expect(callback.searchParams.get('iss')).toBe(t.server.issuer);
    });
  });

  describe('token endpoint', () => {
    it('refuses a wrong code_verifier', async () => {
      const { code } = await codeFor();
      const result = await tokenRequest(t.server, t.fixture, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: oidc.randomPKCECodeVerifier() });
      expect(result).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    });

    it('refuses a code exchange without the code_verifier', async () => {
      const { code } = await codeFor();
      const result = await tokenRequest(t.server, t.fixture, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI });
      expect(result).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    });

    it('refuses a code exchange with another redirect_uri', async () => {
      const { code, start } = await codeFor();
      const result = await tokenRequest(t.server, t.fixture, { grant_type: 'authorization_code', code, redirect_uri: 'http://localhost:8080/other', code_verifier: start.verifier });
      expect(result).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    });

    it('refuses a code used twice and revokes what the first use gave', async () => {
      const { code, start } = await codeFor({ scope: 'openid offline_access read' });
      const exchange = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: start.verifier };
      const first = await tokenRequest(t.server, t.fixture, exchange);
      expect(first.status).toBe(200);
      const second = await tokenRequest(t.server, t.fixture, exchange);
      expect(second).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
      expect((await oidc.tokenIntrospection(t.config, String(first.body.access_token))).active).toBe(false);
      expect((await oidc.tokenIntrospection(t.config, String(first.body.refresh_token))).active).toBe(false);
    });

    it('lets exactly one of two concurrent exchanges of one code win', async () => {
      const { code, start } = await codeFor();
      const exchange = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: start.verifier };
      const results = await Promise.all([tokenRequest(t.server, t.fixture, exchange), tokenRequest(t.server, t.fixture, exchange)]);
      expect(results.map((r) => r.status).sort()).toEqual([200, 400]);
    });

    it('refuses a wrong client secret', async () => {
      const { code, start } = await codeFor();
      const result = await tokenRequest(t.server, t.fixture, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: start.verifier }, 'wrong-secret');
      expect(result).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    });

    it('refuses a code issued to another client', async () => {
      const { code, start } = await codeFor();
      const other = await seed(t.server, { clientName: 'Thief' });
      const result = await tokenRequest(t.server, other, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: start.verifier });
      expect(result).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    });
  });

  describe('sign-in page', () => {
    it('refuses a login post without its CSRF token, and with a token from another browser', async () => {
      const agent = new UserAgent(t.server.issuer);
      const page = await agent.get((await startAuthorization(t.config)).url.toString());
      const action = formAction(page.html);
      const missing = await agent.post(action, { login: t.fixture.username, password: t.fixture.password });
      expect(missing.status).toBe(403);
      const otherBrowser = new UserAgent(t.server.issuer);
      const otherPage = await otherBrowser.get((await startAuthorization(t.config)).url.toString());
      const foreign = await agent.post(action, { csrf: hiddenField(otherPage.html, 'csrf'), login: t.fixture.username, password: t.fixture.password });
      expect(foreign.status).toBe(403);
      // the genuine token still works afterwards
      const genuine = await agent.post(action, { csrf: hiddenField(page.html, 'csrf'), login: t.fixture.username, password: t.fixture.password });
      expect(genuine.html).toContain('wants to access your account');
    });

    it('explains an expired or foreign sign-in page instead of showing the engine\'s words', async () => {
      const page = await new UserAgent(t.server.issuer).get(new URL('/interaction/unknown-uid', t.server.issuer).toString());
      expect(page.status).toBe(400);
      expect(page.html).toContain('This sign-in page has expired or was opened in another browser.');
      expect(page.html).not.toContain('cookie not found');
    });

    it('answers an unknown user exactly like a wrong password', async () => {
      async function attempt(login: string, password: string) {
        const agent = new UserAgent(t.server.issuer);
        const page = await agent.get((await startAuthorization(t.config)).url.toString());
        return agent.post(formAction(page.html), { csrf: hiddenField(page.html, 'csrf'), login, password });
      }
      const wrongPassword = await attempt(t.fixture.username, 'not the password at all');
      const unknownUser = await attempt('nobody-here', 'not the password at all');
      expect(wrongPassword.status).toBe(401);
      expect(unknownUser.status).toBe(wrongPassword.status);
      const alert = (html: string) => /<p class="alert"[^>]*>([^<]*)</.exec(html)?.[1];
      expect(alert(wrongPassword.html)).toBeTruthy();
      expect(alert(unknownUser.html)).toBe(alert(wrongPassword.html));
    });
  });
});

describe('an expired authorization code', () => {
  const t = useSeededServer('embedded', { POSTERN_AUTHORIZATION_CODE_TTL: '1' });

  it('is refused', async () => {
    const start = await startAuthorization(t.config);
    const callback = await signIn(new UserAgent(t.server.issuer), start.url, t.fixture);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const result = await tokenRequest(t.server, t.fixture, { grant_type: 'authorization_code', code: callback.searchParams.get('code')!, redirect_uri: REDIRECT_URI, code_verifier: start.verifier });
    expect(result).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });
});
