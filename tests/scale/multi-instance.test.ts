import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRoundRobinProxy, type RoundRobinProxy } from '../faults/support/proxy.ts';
import { availableBackends, createPostgresDatabase, type BackendName } from '../support/backends.ts';
import { redisUnavailable, startRedisCluster } from '../support/redis-topologies.ts';
import { seed, startAuthorization, type Fixture } from '../support/relying-party.ts';
import { startTestCluster, type TestCluster } from '../support/test-server.ts';
import { formAction, hiddenField, UserAgent } from '../support/user-agent.ts';

/**
 * Three instances of one deployment (one PostgreSQL database, one Redis prefix, one issuer) behind
 * a proxy that the test points at one instance at a time: each step of a sign-in and of a token's
 * life lands on another instance than the step before, as a load balancer may send it.
 */
const enabled = availableBackends().includes('postgres+redis');

interface SharedStorage {
  backend: BackendName;
  env: Record<string, string>;
  close(): Promise<void>;
}

const TIERS: Array<{ title: string; enabled: boolean; open(): Promise<SharedStorage> }> = [
  { title: 'PostgreSQL + Redis', enabled, open: async () => ({ backend: 'postgres+redis', env: {}, close: async () => {} }) },
  {
    title: 'PostgreSQL + a Redis Cluster of three masters',
    enabled: enabled && !redisUnavailable(),
    async open() {
      const [cluster, database] = await Promise.all([startRedisCluster(), createPostgresDatabase()]);
      return {
        // the embedded backend's keys and master key, with the database and the cluster in place of its tiers
        backend: 'embedded',
        env: { DATABASE_URL: database.url, REDIS_URL: cluster.url, POSTERN_REDIS_PREFIX: 'postern-test:' },
        close: async () => {
          await cluster.close();
          await database.drop();
        },
      };
    },
  },
];

// a tier runs when TEST_DATABASE_URL and TEST_REDIS_URL are set and redis-server is installed
for (const tier of TIERS) describe.skipIf(!tier.enabled)(`three instances behave as one on ${tier.title}`, () => {
  let storage: SharedStorage;
  let proxy: RoundRobinProxy;
  let cluster: TestCluster;
  let fixture: Fixture;
  let config: oidc.Configuration;
  /** sends what follows to instance `index` only */
  const onInstance = (index: number) => proxy.setBackends([cluster.servers[index]!.url]);

  beforeAll(async () => {
    storage = await tier.open();
    proxy = await startRoundRobinProxy();
    cluster = await startTestCluster(storage.backend, 3, { ...storage.env, POSTERN_ISSUER: proxy.url });
    onInstance(0);
    fixture = await seed(cluster.servers[0]!);
    config = await oidc.discovery(new URL(proxy.url), fixture.clientId, fixture.clientSecret, oidc.ClientSecretBasic(fixture.clientSecret), {
      execute: [oidc.allowInsecureRequests],
    });
  });
  afterAll(async () => {
    await cluster?.close();
    await proxy?.close();
    await storage?.close();
  });

  it('sign-in started on one, finished on a second, refreshed on a third, revoked on the first: refused on all three', async () => {
    const agent = new UserAgent(proxy.url);
    const start = await startAuthorization(config);

    onInstance(0);
    const login = await agent.get(start.url.toString());
    expect(login.html).toContain('name="password"');

    onInstance(1);
    const consent = await agent.post(formAction(login.html), { csrf: hiddenField(login.html, 'csrf'), login: fixture.username, password: fixture.password });
    expect(consent.html).toContain('wants to access your account');
    const callback = await agent.post(formAction(consent.html, 1), { csrf: hiddenField(consent.html, 'csrf') });
    expect(callback.status).toBe(0);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(callback.url), { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce });
    expect(tokens.claims()?.sub).toBe(fixture.accountId);

    onInstance(2);
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(await oidc.fetchUserInfo(config, refreshed.access_token, fixture.accountId)).toMatchObject({ sub: fixture.accountId });

    onInstance(0);
    await oidc.tokenRevocation(config, refreshed.refresh_token!);

    for (const index of [0, 1, 2]) {
      onInstance(index);
      await expect(oidc.refreshTokenGrant(config, refreshed.refresh_token!), `refresh on instance ${index}`).rejects.toMatchObject({ error: 'invalid_grant' });
      expect((await oidc.tokenIntrospection(config, refreshed.access_token)).active, `introspection on instance ${index}`).toBe(false);
      expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
      await expect(oidc.fetchUserInfo(config, refreshed.access_token, fixture.accountId), `userinfo on instance ${index}`).rejects.toThrow();
    }
  });

  it('a code issued by one instance is redeemed once across all of them', async () => {
    const agent = new UserAgent(proxy.url);
    const start = await startAuthorization(config, { prompt: 'login consent' });
    onInstance(1);
    const login = await agent.get(start.url.toString());
    const consent = await agent.post(formAction(login.html), { csrf: hiddenField(login.html, 'csrf'), login: fixture.username, password: fixture.password });
    const callback = await agent.post(formAction(consent.html, 1), { csrf: hiddenField(consent.html, 'csrf') });
    const redeem = () => oidc.authorizationCodeGrant(config, new URL(callback.url), { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce });
    onInstance(2);
    const tokens = await redeem();
    for (const index of [0, 1, 2]) {
      onInstance(index);
      await expect(redeem(), `second redemption on instance ${index}`).rejects.toMatchObject({ error: 'invalid_grant' });
    }
    // the replay revoked what the code gave
    expect((await oidc.tokenIntrospection(config, tokens.refresh_token!)).active).toBe(false);
  });
});
