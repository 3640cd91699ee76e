import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { discover, seed, signInAndExchange, startAuthorization, useSeededServer, type Fixture } from '../support/relying-party.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { UserAgent } from '../support/user-agent.ts';
import { logLines } from '../support/log-capture.ts';

describe('security headers and cookies', () => {
  const t = useSeededServer('embedded');

  it('sends strict headers and an HttpOnly, SameSite=Lax CSRF cookie with the sign-in page, and no HSTS over http', async () => {
    const start = await startAuthorization(t.config);
    const agent = new UserAgent(t.server.issuer);
    const redirect = await agent.request(start.url.toString());
    const response = await agent.request(new URL(redirect.headers.get('location')!, t.server.issuer).toString());
    expect(response.status).toBe(200);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(response.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    expect(response.headers.get('strict-transport-security')).toBeNull();
    const csrf = response.headers.getSetCookie().find((cookie) => cookie.startsWith('postern.csrf='));
    expect(csrf).toMatch(/httponly/i);
    expect(csrf).toMatch(/samesite=lax/i);
  });
});

describe('HSTS', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('embedded', { POSTERN_ISSUER: 'https://login.example.test' });
  });
  afterAll(() => server?.close());

  it('is sent when the issuer is https', async () => {
    const response = await fetch(new URL('/jwks', server.url));
    expect(response.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
  });
});

describe('logs', () => {
  const { lines, sink } = logLines();
  let server: TestServer;
  let fixture: Fixture;
  let config: oidc.Configuration;

  beforeAll(async () => {
    server = await startTestServer('embedded', {}, createLogger('trace', sink));
    fixture = await seed(server);
    config = await discover(server, fixture);
  });
  afterAll(() => server?.close());

  it('never contain a password, client secret, code or token, even at trace level', async () => {
    const { tokens, callback } = await signInAndExchange(server, config, fixture, { scope: 'openid offline_access read' });
    await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    await oidc.tokenIntrospection(config, tokens.access_token);
    const log = lines.join('');
    expect(log).toContain('"path":"/token"');
    for (const secret of [fixture.password, fixture.clientSecret, callback.searchParams.get('code')!, tokens.access_token, tokens.refresh_token!, tokens.id_token!]) {
      expect(log).not.toContain(secret);
    }
  });
});
