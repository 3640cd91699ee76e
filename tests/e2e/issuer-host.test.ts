import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const ISSUER = 'https://id.example.test';
const ATTACKER = 'evil.example.test';
// what a TLS-terminating proxy in front of the issuer adds
const PROXIED = { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7' };

/** A GET with headers fetch will not send (Host); answers status, headers and body. */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject).end();
  });
}

/** Every absolute URL in a discovery document. */
function urlsOf(document: Record<string, unknown>): string[] {
  return Object.values(document).filter((value): value is string => typeof value === 'string' && /^https?:\/\//.test(value));
}

describe('behind a proxy (POSTERN_TRUST_PROXY=true), the issuer is the only host', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('embedded', { POSTERN_ISSUER: ISSUER, POSTERN_TRUST_PROXY: 'true' });
  });
  afterAll(() => server?.close());

  const discovery = () => new URL('/.well-known/openid-configuration', server.url).toString();

  it.each([
    ['X-Forwarded-Host', { 'x-forwarded-host': ATTACKER }],
    ['Forwarded: host=', { forwarded: `for=203.0.113.7;proto=https;host=${ATTACKER}` }],
    ['Host', { host: ATTACKER }],
    ['all three', { host: ATTACKER, 'x-forwarded-host': `${ATTACKER}, id.example.test`, forwarded: `host=${ATTACKER}` }],
  ])('discovery ignores a host chosen through %s and names the issuer in every endpoint', async (_name, attack) => {
    const response = await rawGet(discovery(), { ...PROXIED, ...attack });
    expect(response.status).toBe(200);
    expect(response.body).not.toContain(ATTACKER);
    const document = JSON.parse(response.body) as Record<string, unknown>;
    expect(document.issuer).toBe(ISSUER);
    // the forwarded protocol is still believed: the endpoints are https although the socket is not
    expect(document.token_endpoint).toBe(`${ISSUER}/token`);
    expect(document.jwks_uri).toBe(`${ISSUER}/jwks`);
    const urls = urlsOf(document);
    expect(urls.length).toBeGreaterThan(5);
    for (const url of urls) expect(new URL(url).origin, url).toBe(ISSUER);
  });

  it('the logout confirmation form posts to the issuer, not to a forwarded host', async () => {
    const response = await rawGet(new URL('/session/end', server.url).toString(), { ...PROXIED, 'x-forwarded-host': ATTACKER, host: ATTACKER });
    expect(response.status).toBe(200);
    expect(response.body).not.toContain(ATTACKER);
    const action = /<form[^>]*action="([^"]+)"/.exec(response.body)?.[1];
    expect(action).toBe(`${ISSUER}/session/end/confirm`);
  });
});

describe('caching of the public documents', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('embedded');
  });
  afterAll(() => server?.close());

  it('discovery may be cached for an hour, the JWKS for five minutes', async () => {
    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
      const response = await fetch(new URL(path, server.url));
      expect(response.status, path).toBe(200);
      expect(response.headers.get('cache-control'), path).toBe('public, max-age=3600');
    }
    const jwks = await fetch(new URL('/jwks', server.url));
    expect(jwks.status).toBe(200);
    expect(jwks.headers.get('cache-control')).toBe('public, max-age=300');
  });

  it('other responses keep their own: the token endpoint is never stored, an unknown path says nothing', async () => {
    const token = await fetch(new URL('/token', server.url), { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials' }) });
    expect(token.status).toBe(400);
    expect(token.headers.get('cache-control')).toBe('no-store');
    const missing = await fetch(new URL('/.well-known/nothing-here', server.url));
    expect(missing.status).toBe(404);
    expect(missing.headers.get('cache-control')).toBeNull();
  });
});
