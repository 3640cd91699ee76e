import { createRemoteJWKSet, customFetch, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { API, seed, type Fixture } from '../support/relying-party.ts';
import { startTestCluster, type TestCluster } from '../support/test-server.ts';

/**
 * Two instances serve one issuer on PostgreSQL and Redis, rotating on their own every few seconds,
 * while clients keep asking both for JWT access tokens and a resource server verifies each one
 * offline against the JWKS it caches, as jose's createRemoteJWKSet does: kept for the JWKS's
 * max-age, fetched again for an unknown kid only outside a 30 s cooldown (the model is the OpenID
 * conformance suite's op-rotate-keys: the relying party refetches the JWKS on an unknown kid).
 * Every token must verify, and no request may fail while the engines are rebuilt under it.
 */
const enabled = availableBackends().includes('postgres+redis');

const JWKS_MAX_AGE_SECONDS = 3;
const WORKERS = 6;

interface Tally {
  issued: number;
  verified: number;
  verificationFailures: string[];
  requestFailures: string[];
  kids: Map<string, number>;
  byInstance: number[];
}

describe.runIf(enabled)(`signing keys rotating under load on two instances${enabled ? '' : ' (skipped: set TEST_DATABASE_URL and TEST_REDIS_URL to run)'}`, () => {
  let cluster: TestCluster;
  let fixture: Fixture;

  beforeAll(async () => {
    cluster = await startTestCluster('postgres+redis', 2, {
      // a rotation every 8 s; a next key signs only after max-age + check interval (4 s) in the JWKS
      POSTERN_KEY_ROTATION_INTERVAL: '8s',
      POSTERN_JWKS_MAX_AGE: String(JWKS_MAX_AGE_SECONDS),
      POSTERN_KEY_CHECK_INTERVAL: '1',
      POSTERN_RATE_LIMIT_TOKEN: 'off',
    });
    fixture = await seed(cluster.servers[0]!);
  });
  afterAll(() => cluster?.close());

  it('a resource server caching the JWKS verifies every token across two rotations, and no request fails', { timeout: 180_000 }, async () => {
    const { servers } = cluster;
    const issuer = servers[0]!.issuer;
    let turn = 0;
    /** a load balancer in front of both instances: each request to the next one */
    const balanced = (path: string) => {
      const server = servers[turn++ % servers.length]!;
      return { url: new URL(path, server.url), instance: servers.indexOf(server) };
    };
    const resourceServer = createRemoteJWKSet(new URL('/jwks', issuer), {
      cacheMaxAge: JWKS_MAX_AGE_SECONDS * 1000,
      [customFetch]: (_url, options) => fetch(balanced('/jwks').url, options),
    });
    const basic = `Basic ${Buffer.from(`${encodeURIComponent(fixture.clientId)}:${encodeURIComponent(fixture.clientSecret)}`).toString('base64')}`;
    const tally: Tally = { issued: 0, verified: 0, verificationFailures: [], requestFailures: [], kids: new Map(), byInstance: servers.map(() => 0) };
    const initial = (await servers[0]!.services.signingKeys.list()).find((key) => key.status === 'current')!.kid;

    let stop = false;
    const worker = async () => {
      while (!stop) {
        const { url, instance } = balanced('/token');
        let token: string;
        try {
          const response = await fetch(url, {
            method: 'POST',
            headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'read', resource: API }),
          });
          const body = (await response.json()) as { access_token?: string; error?: string };
          if (response.status !== 200 || !body.access_token) {
            tally.requestFailures.push(`${response.status} ${body.error}`);
            continue;
          }
          token = body.access_token;
        } catch (error) {
          tally.requestFailures.push(String(error));
          continue;
        }
        tally.issued += 1;
        tally.byInstance[instance]! += 1;
        const kid = decodeProtectedHeader(token).kid!;
        tally.kids.set(kid, (tally.kids.get(kid) ?? 0) + 1);
        try {
          await jwtVerify(token, resourceServer, { issuer, audience: API, typ: 'at+jwt', algorithms: ['RS256'] });
          tally.verified += 1;
        } catch (error) {
          tally.verificationFailures.push(`${kid}: ${(error as { code?: string }).code ?? String(error)}`);
        }
      }
    };
    const running = Array.from({ length: WORKERS }, () => worker());
    // two rotations: three keys have signed
    const deadline = Date.now() + 120_000;
    while (tally.kids.size < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    stop = true;
    await Promise.all(running);

    expect(tally.kids.size).toBeGreaterThanOrEqual(3);
    expect([...tally.kids.keys()][0]).toBe(initial);
    expect(tally.verificationFailures).toEqual([]);
    expect(tally.requestFailures).toEqual([]);
    expect(tally.verified).toBe(tally.issued);
    expect(tally.byInstance.every((count) => count > 0)).toBe(true);

    // each rotation was made by one instance: one audit event each, each promoting a different key
    const rotations = await servers[0]!.storage.db('audit_events').where({ type: 'signing_key.rotated' }).orderBy('id').select('details');
    const promoted = rotations.map((row) => (typeof row.details === 'string' ? JSON.parse(row.details) : row.details) as { current: string; by: string });
    expect(promoted.length).toBeGreaterThanOrEqual(2);
    expect(new Set(promoted.map((rotation) => rotation.current)).size).toBe(promoted.length);
    expect(promoted.every((rotation) => rotation.by === 'schedule')).toBe(true);
    for (const kid of tally.kids.keys()) if (kid !== initial) expect(promoted.map((rotation) => rotation.current)).toContain(kid);
    console.info(`key rotation under load: ${tally.issued} tokens from ${WORKERS} workers (${tally.byInstance.join(' + ')} per instance), ${tally.kids.size} signing keys, ${promoted.length} rotations, 0 failures`);
  });
});
