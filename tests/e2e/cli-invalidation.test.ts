import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOLD_SECONDS } from '../../src/store/read-through-cache.ts';
import { sleep } from '../support/adapter-backends.ts';
import { availableBackends } from '../support/backends.ts';
import { runCli, type CliResult } from '../cli/support/cli.ts';
import { API, seed, signInAndExchange, type Fixture } from '../support/relying-party.ts';
import { startTestCluster, type TestCluster, type TestServer } from '../support/test-server.ts';

/**
 * An operator changes registrations and accounts through the CLI while two instances serve one
 * issuer on PostgreSQL and Redis. Both instances have read (and cached) what is changed; both
 * must refuse it as soon as the command has returned, not after a cache lifetime. The cache
 * lifetimes are left at their defaults (30 s for registrations, 300 s for records).
 */
const enabled = availableBackends().includes('postgres+redis');

/** An openid-client configuration that reaches one instance, though the issuer names another. */
function via(server: TestServer, issuer: string, client: Pick<Fixture, 'clientId' | 'clientSecret'>): Promise<oidc.Configuration> {
  const rewrite: oidc.CustomFetch = (url, options) => {
    const target = new URL(url);
    const instance = new URL(server.url);
    if (target.origin === new URL(issuer).origin) target.port = instance.port;
    return fetch(target, options as RequestInit);
  };
  return oidc.discovery(new URL(issuer), client.clientId, client.clientSecret, oidc.ClientSecretBasic(client.clientSecret), {
    execute: [oidc.allowInsecureRequests],
    [oidc.customFetch]: rewrite,
  });
}

/** Whether the shared cache in Redis holds the record (not a writer's mark): what readers are then served. */
async function sharedCacheHolds(server: TestServer, namespace: string, id: string): Promise<boolean> {
  const entry = await server.storage.kv.get(`cache:${namespace}:${id}`);
  return entry !== undefined && entry.startsWith('{');
}

async function eventually(done: () => Promise<boolean>, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await sleep(20);
  }
}

function succeeded(result: CliResult): void {
  if (result.code !== 0) throw new Error(`postern exited ${result.code}: ${result.stderr}`);
}

/** The OAuth error a refused call answered with, from the body or (a 401) the WWW-Authenticate challenge. */
async function refusal(attempt: Promise<unknown>): Promise<string | undefined> {
  return attempt.then(
    () => 'accepted',
    (error: unknown) => {
      const { error: code, cause } = error as { error?: string; cause?: unknown };
      const challenge = Array.isArray(cause) ? (cause[0] as { parameters?: { error?: string } } | undefined) : undefined;
      return code ?? challenge?.parameters?.error ?? String(error);
    },
  );
}

describe.runIf(enabled)(`changes made through the CLI reach every running instance at once${enabled ? '' : ' (skipped: set TEST_DATABASE_URL and TEST_REDIS_URL to run)'}`, () => {
  let cluster: TestCluster;
  let issuer: string;

  beforeAll(async () => {
    cluster = await startTestCluster('postgres+redis', 2);
    issuer = cluster.servers[0]!.issuer;
  });
  afterAll(() => cluster?.close());

  const cli = (...args: string[]) => runCli(args, cluster.env);
  const everyInstance = <T>(fixture: Pick<Fixture, 'clientId' | 'clientSecret'>, check: (config: oidc.Configuration, server: TestServer) => Promise<T>) =>
    Promise.all(cluster.servers.map(async (server) => check(await via(server, issuer, fixture), server)));

  it('a user deleted through the CLI: access tokens introspect inactive, userinfo refuses and refresh fails on both instances', async () => {
    const first = cluster.servers[0]!;
    const fixture = await seed(first, { username: 'leaving-user', clientName: 'Stays' });
    const config = await via(first, issuer, fixture);
    const plain = (await signInAndExchange(first, config, fixture)).tokens;
    const api = (await signInAndExchange(first, config, fixture, { scope: 'openid offline_access read', resource: API })).tokens;

    const refreshed = await oidc.refreshTokenGrant(await via(cluster.servers[1]!, issuer, fixture), api.refresh_token!);
    // a record written moments ago is not cached yet (readers of a fresh mark do not fill): wait
    // until the sign-in's and the refresh's marks are gone, so that the reads below do fill
    await sleep(HOLD_SECONDS * 1000 + 500);

    // both instances read the account, the grants, the client and the API, and cache them
    await everyInstance(fixture, async (instance) => {
      for (const token of [plain.access_token, api.access_token, refreshed.access_token]) {
        expect((await oidc.tokenIntrospection(instance, token)).active).toBe(true);
      }
      expect(await oidc.fetchUserInfo(instance, plain.access_token, fixture.accountId)).toMatchObject({ sub: fixture.accountId });
    });
    const grantId = (await first.provider.AccessToken.find(plain.access_token))!.grantId!;
    await eventually(async () => (await sharedCacheHolds(first, 'Account', fixture.accountId)) && (await sharedCacheHolds(first, 'Grant', grantId)));

    succeeded(await cli('user', 'delete', 'leaving-user'));

    await everyInstance(fixture, async (instance) => {
      for (const token of [plain.access_token, api.access_token, refreshed.access_token]) {
        expect(await oidc.tokenIntrospection(instance, token)).toEqual({ active: false });
      }
      expect(await refusal(oidc.fetchUserInfo(instance, plain.access_token, fixture.accountId))).not.toBe('accepted');
      expect(await refusal(oidc.refreshTokenGrant(instance, refreshed.refresh_token!))).toBe('invalid_grant');
      expect(await refusal(oidc.refreshTokenGrant(instance, plain.refresh_token!))).toBe('invalid_grant');
    });
  });

  it('a client deleted through the CLI: client credentials and refresh are refused on both instances', async () => {
    const first = cluster.servers[0]!;
    const fixture = await seed(first, { username: 'client-user', clientName: 'Goes' });
    const config = await via(first, issuer, fixture);
    const { tokens } = await signInAndExchange(first, config, fixture);

    await everyInstance(fixture, async (instance) => {
      expect((await oidc.clientCredentialsGrant(instance, { scope: 'read' })).access_token).toBeTypeOf('string');
      expect((await oidc.tokenIntrospection(instance, tokens.access_token)).active).toBe(true);
    });

    succeeded(await cli('client', 'delete', fixture.clientId));

    await everyInstance(fixture, async (instance) => {
      expect(await refusal(oidc.clientCredentialsGrant(instance, { scope: 'read' }))).toBe('invalid_client');
      expect(await refusal(oidc.refreshTokenGrant(instance, tokens.refresh_token!))).toBe('invalid_client');
      expect(await refusal(oidc.tokenIntrospection(instance, tokens.access_token))).toBe('invalid_client');
    });
  });

  it('an API deleted through the CLI is no longer accepted as a resource on either instance', async () => {
    const first = cluster.servers[0]!;
    const fixture = await seed(first, { username: 'api-user', clientName: 'Calls an API' });
    const billing = 'https://billing.example.test';
    await first.services.resourceServers.create({ identifier: billing, name: 'Billing', access: 'open', scopes: [{ scope: 'invoices:read' }] });

    await everyInstance(fixture, async (instance) => {
      expect((await oidc.clientCredentialsGrant(instance, { scope: 'invoices:read', resource: billing })).scope).toBe('invoices:read');
    });

    succeeded(await cli('api', 'delete', billing));

    await everyInstance(fixture, async (instance) => {
      expect(await refusal(oidc.clientCredentialsGrant(instance, { scope: 'invoices:read', resource: billing }))).toBe('invalid_target');
    });
  });

  it('introspectors changed through the CLI apply on both instances at once', async () => {
    const first = cluster.servers[0]!;
    const fixture = await seed(first, { username: 'introspected-user', clientName: 'Token holder' });
    const { client, clientSecret } = await first.services.clients.create({ name: 'Orders API', type: 'confidential', grantTypes: ['client_credentials'] });
    const introspector = { clientId: client.clientId, clientSecret: clientSecret! };
    const orders = 'https://orders.example.test';
    await first.services.resourceServers.create({ identifier: orders, name: 'Orders', access: 'open', scopes: [{ scope: 'orders:read' }], introspectors: [client.clientId] });
    const token = (await oidc.clientCredentialsGrant(await via(first, issuer, fixture), { scope: 'orders:read', resource: orders })).access_token;

    await everyInstance(introspector, async (instance) => {
      expect((await oidc.tokenIntrospection(instance, token)).active).toBe(true);
    });

    succeeded(await cli('api', 'set-introspectors', orders));

    await everyInstance(introspector, async (instance) => {
      expect(await oidc.tokenIntrospection(instance, token)).toEqual({ active: false });
    });
  });
});
