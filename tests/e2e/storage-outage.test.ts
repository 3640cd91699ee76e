import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, POSTGRES_URL } from '../support/backends.ts';
import { discover, seed, signInAndExchange, startAuthorization, type Fixture } from '../support/relying-party.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { UserAgent } from '../support/user-agent.ts';
import { redisUnavailable, startOwnRedis, type OwnRedis } from '../faults/support/own-redis.ts';

/**
 * One server on the shared PostgreSQL (its own database) and a Redis of its own that the test
 * kills: what must keep working without the ephemeral tier, how a person and a client are told,
 * and that it comes back alone. (The fault suite measures the same under load; this checks each
 * answer.)
 */
const skip = !POSTGRES_URL ? 'TEST_DATABASE_URL is not set' : redisUnavailable();

describe.skipIf(skip)('without the ephemeral tier', () => {
  let redis: OwnRedis;
  let database: { url: string; drop(): Promise<void> };
  let server: TestServer;
  let fixture: Fixture;
  let config: oidc.Configuration;
  let refreshToken: string;

  beforeAll(async () => {
    redis = await startOwnRedis();
    database = await createPostgresDatabase();
    server = await startTestServer('embedded', { DATABASE_URL: database.url, REDIS_URL: redis.url, POSTERN_DATA_DIR: '', POSTERN_STORAGE_TIMEOUT: '750' });
    fixture = await seed(server);
    config = await discover(server, fixture);
    refreshToken = (await signInAndExchange(server, config, fixture)).tokens.refresh_token!;
    await redis.kill();
  });

  afterAll(async () => {
    await server?.close();
    await redis?.close();
    await database?.drop();
  });

  const timed = async <T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> => {
    const started = performance.now();
    const result = await work();
    return { result, ms: performance.now() - started };
  };

  it('keeps serving discovery, the JWKS and /healthz, and says at /readyz which tier is down', async () => {
    for (const path of ['/.well-known/openid-configuration', '/jwks', '/healthz']) {
      expect((await fetch(new URL(path, server.url))).status, path).toBe(200);
    }
    const ready = await fetch(new URL('/readyz', server.url));
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'unavailable', checks: { database: 'ok', kv: 'unavailable', keys: 'ok' } });
  });

  it('answers a token request 503 temporarily_unavailable within a second, and the refresh token stays usable', async () => {
    const basic = `Basic ${Buffer.from(`${fixture.clientId}:${fixture.clientSecret}`).toString('base64')}`;
    const bodies: Array<Record<string, string>> = [{ grant_type: 'client_credentials', scope: 'read' }, { grant_type: 'refresh_token', refresh_token: refreshToken }];
    for (const body of bodies) {
      const { result, ms } = await timed(() =>
        fetch(new URL('/token', server.url), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic }, body: new URLSearchParams(body) }),
      );
      expect(ms).toBeLessThan(1000);
      expect(result.status).toBe(503);
      expect(result.headers.get('retry-after')).toBe('5');
      expect(await result.json()).toMatchObject({ error: 'temporarily_unavailable' });
    }
  });

  it('shows a person the error page (503) when a sign-in cannot start', async () => {
    const agent = new UserAgent(server.issuer);
    const start = await startAuthorization(config);
    const page = await agent.get(start.url.toString());
    // the engine sends the error to the application's redirect URI, as RFC 6749 §4.1.2.1 asks…
    const landed = page.status === 0 ? new URL(page.url) : undefined;
    if (landed) expect(landed.searchParams.get('error')).toBe('temporarily_unavailable');
    // …or, when it cannot, shows the page
    else expect(page.status).toBe(503);
  });

  it('comes back alone when Redis returns: the same refresh token works', async () => {
    await redis.start();
    const deadline = Date.now() + 5000;
    let tokens: oidc.TokenEndpointResponse | undefined;
    while (!tokens && Date.now() < deadline) {
      tokens = await oidc.refreshTokenGrant(config, refreshToken).catch(() => undefined);
      if (!tokens) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(tokens?.refresh_token).toBeTypeOf('string');
    expect((await fetch(new URL('/readyz', server.url))).status).toBe(200);
  });
});
