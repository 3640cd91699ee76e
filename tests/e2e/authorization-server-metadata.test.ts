import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { useSeededServer } from '../support/relying-party.ts';
import { freePort, startTestServer, type TestServer } from '../support/test-server.ts';

async function document(base: string, path: string) {
  const response = await fetch(new URL(path, base));
  return { status: response.status, cacheControl: response.headers.get('cache-control'), cors: response.headers.get('access-control-allow-origin'), body: (await response.json()) as Record<string, unknown> };
}

describe.each(availableBackends())('authorization server metadata (RFC 8414) on %s', (backend) => {
  const t = useSeededServer(backend);

  it('serves the same document as OpenID discovery, with the same caching', async () => {
    const oauth = await document(t.server.url, '/.well-known/oauth-authorization-server');
    const openid = await document(t.server.url, '/.well-known/openid-configuration');
    expect(oauth.status).toBe(200);
    expect(oauth.body).toEqual(openid.body);
    expect(oauth.cacheControl).toBe('public, max-age=3600');
    expect(oauth.cacheControl).toBe(openid.cacheControl);
    expect(oauth.cors).toBe('*');
  });

  it('advertises what is enabled: DPoP, PAR, PKCE S256, the grants, issuer identification', async () => {
    const { body } = await document(t.server.url, '/.well-known/oauth-authorization-server');
    expect(body).toMatchObject({
      issuer: t.server.issuer,
      authorization_endpoint: `${t.server.issuer}/auth`,
      token_endpoint: `${t.server.issuer}/token`,
      pushed_authorization_request_endpoint: `${t.server.issuer}/request`,
      dpop_signing_alg_values_supported: ['ES256', 'Ed25519', 'EdDSA'],
      code_challenge_methods_supported: ['S256'],
      response_types_supported: ['code'],
      authorization_response_iss_parameter_supported: true,
      request_parameter_supported: true,
    });
    expect(body.grant_types_supported).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token', 'client_credentials']));
    expect(body.grant_types_supported).not.toContain('implicit');
    expect(body.grant_types_supported).not.toContain('password');
    expect(body).not.toHaveProperty('require_pushed_authorization_requests');
  });

  it('names only endpoints that answer', async () => {
    const { body } = await document(t.server.url, '/.well-known/oauth-authorization-server');
    const endpoints = Object.entries(body).filter(([name, value]) => (name.endsWith('_endpoint') || name === 'jwks_uri') && typeof value === 'string');
    expect(endpoints.length).toBeGreaterThan(5);
    for (const [name, url] of endpoints) {
      const answer = await fetch(url as string, { method: name === 'jwks_uri' || name === 'authorization_endpoint' || name === 'end_session_endpoint' ? 'GET' : 'POST', redirect: 'manual' });
      expect(answer.status, name).not.toBe(404);
      expect(answer.status, name).toBeLessThan(500);
    }
  });

  it('is what openid-client finds when told the server is plain OAuth 2.0', async () => {
    const config = await oidc.discovery(new URL(t.server.issuer), t.fixture.clientId, t.fixture.clientSecret, oidc.ClientSecretBasic(t.fixture.clientSecret), {
      algorithm: 'oauth2',
      execute: [oidc.allowInsecureRequests],
    });
    expect(config.serverMetadata().pushed_authorization_request_endpoint).toBe(`${t.server.issuer}/request`);
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'read' });
    expect(tokens.access_token).toBeTypeOf('string');
  });
});

describe.each(availableBackends())('metadata with POSTERN_REQUIRE_PAR=true on %s', (backend) => {
  const t = useSeededServer(backend, { POSTERN_REQUIRE_PAR: 'true' });

  it('says pushed requests are required, in both documents', async () => {
    for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
      expect((await document(t.server.url, path)).body.require_pushed_authorization_requests, path).toBe(true);
    }
  });
});

describe('metadata of an issuer with a path', () => {
  let server: TestServer;
  let issuer: string;
  beforeAll(async () => {
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}/tenant`;
    server = await startTestServer('embedded', { PORT: String(port), POSTERN_ISSUER: issuer });
  });
  afterAll(() => server?.close());

  it('serves RFC 8414 path-inserted and OpenID path-appended metadata naming that issuer', async () => {
    const inserted = await document(server.url, '/.well-known/oauth-authorization-server/tenant');
    expect(inserted).toMatchObject({ status: 200, cacheControl: 'public, max-age=3600', body: { issuer } });
    const appended = await document(server.url, '/tenant/.well-known/openid-configuration');
    expect(appended.body).toEqual(inserted.body);
    const config = await oidc.discovery(new URL(issuer), 'any', undefined, oidc.None(), { algorithm: 'oauth2', execute: [oidc.allowInsecureRequests] });
    expect(config.serverMetadata().issuer).toBe(issuer);
  });

  it('serves no other path', async () => {
    expect((await fetch(new URL('/.well-known/oauth-authorization-server/other', server.url))).status).toBe(404);
  });
});
