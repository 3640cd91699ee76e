import * as oidc from 'openid-client';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../support/adapter-backends.ts';
import { availableBackends } from '../support/backends.ts';
import { API, discover, seed, useSeededServer, type Fixture } from '../support/relying-party.ts';
import { startTestCluster, type TestCluster, type TestServer } from '../support/test-server.ts';

async function jwks(server: TestServer): Promise<{ kids: string[]; cacheControl: string | null; set: JSONWebKeySet }> {
  const response = await fetch(new URL('/jwks', server.url));
  const set = (await response.json()) as JSONWebKeySet;
  return { kids: set.keys.map((key) => key.kid!), cacheControl: response.headers.get('cache-control'), set };
}

async function eventually(done: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await sleep(50);
  }
}

async function statusKids(server: TestServer): Promise<Record<string, string[]>> {
  const byStatus: Record<string, string[]> = {};
  for (const key of await server.services.signingKeys.list()) (byStatus[key.status] ??= []).push(key.kid);
  return byStatus;
}

const kidOf = (jwt: string) => decodeProtectedHeader(jwt).kid;

describe.each(availableBackends())('signing keys rotating in a running server on %s', (backend) => {
  // the periodic check every second: the backstop test below waits for it
  const t = useSeededServer(backend, { POSTERN_JWKS_MAX_AGE: '2', POSTERN_KEY_CHECK_INTERVAL: '1' });
  const accessToken = async () => (await oidc.clientCredentialsGrant(t.config, { scope: 'read', resource: API })).access_token;
  let before: string;

  it('publishes the current and the next key, marked cacheable for POSTERN_JWKS_MAX_AGE, and signs with the current one', async () => {
    const { current, next } = await statusKids(t.server);
    const published = await jwks(t.server);
    expect(published.kids).toEqual([current![0], next![0]]);
    expect(published.cacheControl).toBe('public, max-age=2');
    expect(published.set.keys.every((key) => key.d === undefined && key.p === undefined)).toBe(true);
    before = await accessToken();
    expect(kidOf(before)).toBe(current![0]);
  });

  it('takes a rotation without a restart: new tokens are signed by the new key, and those of the old one still verify and introspect active', async () => {
    const rotated = await t.server.services.signingKeys.rotate({ now: true });
    await eventually(async () => (await jwks(t.server)).kids[0] === rotated.current);
    const published = await jwks(t.server);
    expect(published.kids).toEqual([rotated.current, rotated.next, rotated.previous]);

    const after = await accessToken();
    expect(kidOf(after)).toBe(rotated.current);
    for (const token of [before, after]) {
      await jwtVerify(token, createLocalJWKSet(published.set), { issuer: t.server.issuer, audience: API });
      expect((await oidc.tokenIntrospection(t.config, token)).active).toBe(true);
    }
  });

  it('refuses the tokens of a retired key at introspection and userinfo, and no longer publishes it', async () => {
    const { previous } = await statusKids(t.server);
    expect(kidOf(before)).toBe(previous![0]);
    await t.server.services.signingKeys.retire(previous![0]!);
    await eventually(async () => !(await jwks(t.server)).kids.includes(previous![0]!));

    expect(await oidc.tokenIntrospection(t.config, before)).toEqual({ active: false });
    expect((await oidc.tokenIntrospection(t.config, await accessToken())).active).toBe(true);
    const userinfo = await fetch(new URL('/me', t.server.url), { headers: { authorization: `Bearer ${before}` } });
    expect(userinfo.status).toBe(401);
    expect(userinfo.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    await expect(jwtVerify(before, createLocalJWKSet((await jwks(t.server)).set))).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
  });

  it('picks up a change no one announced at the next periodic check', async () => {
    const { current, next } = await statusKids(t.server);
    // straight in the database, as a restore or a hand edit would: no announcement
    const db = t.server.storage.db;
    await db.transaction(async (trx) => {
      await trx('signing_keys').where({ kid: current![0] }).update({ status: 'previous', deactivated_at: trx.fn.now() });
      await trx('signing_keys').where({ kid: next![0] }).update({ status: 'current', activated_at: trx.fn.now() });
    });
    await eventually(async () => kidOf(await accessToken()) === next![0]);
    // the check also publishes a new next key, as there is none now (maybe at the check after)
    await eventually(async () => (await jwks(t.server)).kids.length === 3);
    const { kids } = await jwks(t.server);
    expect(kids[0]).toBe(next![0]);
    expect(kids).toContain(current![0]);
    expect(kids).toHaveLength(3);
  });
});

const clustered = availableBackends().includes('postgres+redis');

describe.runIf(clustered)('a rotation reaches the other instances through the invalidation channel (PostgreSQL + Redis)', () => {
  let cluster: TestCluster;
  let fixture: Fixture;

  beforeAll(async () => {
    // the periodic check an hour away: only the announcement can tell the second instance
    cluster = await startTestCluster('postgres+redis', 2, { POSTERN_KEY_CHECK_INTERVAL: '3600' });
    fixture = await seed(cluster.servers[0]!);
  });
  afterAll(() => cluster?.close());

  it('the other instance signs with the new key within moments', async () => {
    const [first, second] = cluster.servers as [TestServer, TestServer];
    const rotated = await first.services.signingKeys.rotate({ now: true });
    await eventually(async () => (await jwks(second)).kids[0] === rotated.current, 5000);
    const config = await discover(second, fixture);
    const rewrite: oidc.CustomFetch = (url, options) => {
      const target = new URL(url);
      target.port = new URL(second.url).port;
      return fetch(target, options as RequestInit);
    };
    config[oidc.customFetch] = rewrite;
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'read', resource: API });
    expect(kidOf(tokens.access_token)).toBe(rotated.current);
  });
});
