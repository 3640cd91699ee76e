import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tierOf } from '../../src/oidc/adapter/model-tiers.ts';
import { availableBackends } from '../support/backends.ts';
import { dpopProof, nonceFor, proofKey, thumbprintOf, type ProofKey } from '../support/dpop.ts';
import { API, discover, REDIRECT_URI, seed, signInAndExchange, useSeededServer, type Fixture } from '../support/relying-party.ts';
import { startTestCluster, type TestCluster } from '../support/test-server.ts';

function rejectionOf(attempt: Promise<unknown>) {
  return attempt.then(
    () => expect.unreachable('the request was not refused'),
    (error: unknown) => error as { error?: string; error_description?: string; status?: number; code?: string; cause?: unknown },
  );
}

type GrantErrorListener = (ctx: unknown, error: { error?: string; error_detail?: string }) => void;

/**
 * The detail of the next refusal at the token endpoint (the engine keeps it out of the response),
 * passing over the `use_dpop_nonce` answers a client retries after.
 */
function nextGrantError(provider: { on(event: 'grant.error', listener: GrantErrorListener): unknown; off(event: 'grant.error', listener: GrantErrorListener): unknown }): Promise<string | undefined> {
  return new Promise((resolve) => {
    const listener: GrantErrorListener = (_ctx, error) => {
      if (error.error === 'use_dpop_nonce') return;
      provider.off('grant.error', listener);
      resolve(error.error_detail);
    };
    provider.on('grant.error', listener);
  });
}

function basic(fixture: Pick<Fixture, 'clientId' | 'clientSecret'>): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(fixture.clientId)}:${encodeURIComponent(fixture.clientSecret)}`).toString('base64')}`;
}

/** A client_credentials request with this DPoP proof (or none). */
function clientCredentials(base: string, issuer: string, fixture: Pick<Fixture, 'clientId' | 'clientSecret'>, proof: string | undefined) {
  return fetch(new URL('/token', base), {
    method: 'POST',
    headers: { authorization: basic(fixture), ...(proof ? { dpop: proof } : {}) },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: API, scope: 'read' }),
  }).then(async (response) => ({ status: response.status, nonce: response.headers.get('dpop-nonce'), body: (await response.json()) as Record<string, unknown>, issuer }));
}

/** The nonce the server hands out, from a first proof without one. */
async function currentNonce(base: string, issuer: string, fixture: Fixture, key: ProofKey): Promise<string> {
  const answer = await clientCredentials(base, issuer, fixture, await dpopProof(key, 'POST', `${issuer}/token`));
  expect(answer).toMatchObject({ status: 400, body: { error: 'use_dpop_nonce' } });
  return answer.nonce!;
}

describe.each(availableBackends())('DPoP (RFC 9449) on %s', (backend) => {
  const t = useSeededServer(backend);

  it('advertises the proof algorithms in discovery', () => {
    expect(t.config.serverMetadata().dpop_signing_alg_values_supported).toEqual(['ES256', 'Ed25519', 'EdDSA']);
  });

  it('binds the code flow, the refresh and userinfo to the key: token_type DPoP, cnf.jkt in introspection', async () => {
    const key = await oidc.randomDPoPKeyPair('ES256', { extractable: true });
    const jkt = await thumbprintOf(key as ProofKey);
    const DPoP = oidc.getDPoPHandle(t.config, key);
    const { tokens } = await signInAndExchange(t.server, t.config, t.fixture, {}, undefined, { DPoP });
    expect(tokens.token_type).toBe('dpop');
    expect(await oidc.fetchUserInfo(t.config, tokens.access_token, t.fixture.accountId, { DPoP })).toMatchObject({ sub: t.fixture.accountId });
    expect(await oidc.tokenIntrospection(t.config, tokens.access_token)).toMatchObject({ active: true, token_type: 'DPoP', cnf: { jkt } });
    const refreshed = await oidc.refreshTokenGrant(t.config, tokens.refresh_token!, undefined, { DPoP });
    expect(refreshed.token_type).toBe('dpop');
    expect(await oidc.fetchUserInfo(t.config, refreshed.access_token, t.fixture.accountId, { DPoP })).toMatchObject({ sub: t.fixture.accountId });
  });

  it('puts cnf.jkt into a JWT access token and its introspection', async () => {
    const key = await oidc.randomDPoPKeyPair('ES256', { extractable: true });
    const jkt = await thumbprintOf(key as ProofKey);
    const DPoP = oidc.getDPoPHandle(t.config, key);
    const { tokens } = await signInAndExchange(t.server, t.config, t.fixture, { scope: 'openid read' }, undefined, { DPoP });
    const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL('/jwks', t.server.issuer)), { issuer: t.server.issuer, audience: API, typ: 'at+jwt' });
    expect(payload.cnf).toEqual({ jkt });
    expect(await oidc.tokenIntrospection(t.config, tokens.access_token)).toMatchObject({ active: true, token_type: 'DPoP', cnf: { jkt } });
  });

  it('refuses a bound access token sent as Bearer, or with a proof from another key', async () => {
    const key = await oidc.randomDPoPKeyPair('ES256', { extractable: true });
    const { tokens } = await signInAndExchange(t.server, t.config, t.fixture, {}, undefined, { DPoP: oidc.getDPoPHandle(t.config, key) });
    const asBearer = await fetch(new URL('/me', t.server.issuer), { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(asBearer.status).toBe(401);
    expect(await asBearer.json()).toMatchObject({ error: 'invalid_token' });
    const other = oidc.getDPoPHandle(t.config, await oidc.randomDPoPKeyPair('ES256'));
    expect(await rejectionOf(oidc.fetchUserInfo(t.config, tokens.access_token, t.fixture.accountId, { DPoP: other }))).toMatchObject({ status: 401 });
  });

  it("binds a public client's refresh token: refused without a proof and with another key's (RFC 9449 §5)", async () => {
    const { client } = await t.server.services.clients.create({ name: 'Public App', type: 'public', redirectUris: [REDIRECT_URI] });
    const config = await oidc.discovery(new URL(t.server.issuer), client.clientId, undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
    const key = await oidc.randomDPoPKeyPair('ES256');
    const DPoP = oidc.getDPoPHandle(config, key);
    const { tokens } = await signInAndExchange(t.server, config, { ...t.fixture, clientId: client.clientId }, {}, undefined, { DPoP });
    const without = nextGrantError(t.server.provider);
    expect(await rejectionOf(oidc.refreshTokenGrant(config, tokens.refresh_token!))).toMatchObject({ error: 'invalid_grant' });
    expect(await without).toBe('failed jkt verification');
    const other = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('ES256'));
    const wrongKey = nextGrantError(t.server.provider);
    expect(await rejectionOf(oidc.refreshTokenGrant(config, tokens.refresh_token!, undefined, { DPoP: other }))).toMatchObject({ error: 'invalid_grant' });
    expect(await wrongKey).toBe('failed jkt verification');
    // the refusals did not use the token up: with the key it was bound to, it still works
    expect((await oidc.refreshTokenGrant(config, tokens.refresh_token!, undefined, { DPoP })).token_type).toBe('dpop');
  });

  it('requires a nonce the server chose, and refuses a stale one and a replayed proof', async () => {
    const key = await proofKey();
    const htu = `${t.server.issuer}/token`;
    const missing = await clientCredentials(t.server.url, t.server.issuer, t.fixture, await dpopProof(key, 'POST', htu));
    expect(missing).toMatchObject({ status: 400, body: { error: 'use_dpop_nonce', error_description: 'nonce is required in the DPoP proof' } });
    expect(missing.nonce).toMatch(/^[\w-]{43}$/);
    const secret = t.server.storage.envelope.derive('dpop-nonce', 32);
    expect(nonceFor(secret, -1)).toBe(missing.nonce);
    const stale = await clientCredentials(t.server.url, t.server.issuer, t.fixture, await dpopProof(key, 'POST', htu, { nonce: nonceFor(secret, 10) }));
    expect(stale).toMatchObject({ status: 400, body: { error: 'use_dpop_nonce', error_description: 'invalid nonce in DPoP proof' } });
    const made = await dpopProof(key, 'POST', htu, { nonce: missing.nonce! });
    const first = await clientCredentials(t.server.url, t.server.issuer, t.fixture, made);
    expect(first).toMatchObject({ status: 200, body: { token_type: 'DPoP' } });
    expect(decodeJwt(first.body.access_token as string).cnf).toEqual({ jkt: await thumbprintOf(key) });
    const detail = nextGrantError(t.server.provider);
    const replayed = await clientCredentials(t.server.url, t.server.issuer, t.fixture, made);
    expect(replayed).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(await detail).toBe('DPoP proof JWT Replay detected');
    // a fresh proof with the same nonce is fine: only the proof itself was refused
    expect(await clientCredentials(t.server.url, t.server.issuer, t.fixture, await dpopProof(key, 'POST', htu, { nonce: missing.nonce! }))).toMatchObject({ status: 200 });
  });

  it('keeps replay detection in the ephemeral tier, never in the database', async () => {
    expect(tierOf('ReplayDetection')).toBe('ephemeral');
    const rows = await t.server.storage.db('oidc_payloads').where({ model: 'ReplayDetection' }).count<Array<{ count: string | number }>>({ count: '*' });
    expect(Number(rows[0]!.count)).toBe(0);
  });

  describe('a client that requires DPoP', () => {
    let fixture: Fixture;
    let config: oidc.Configuration;
    beforeAll(async () => {
      const { client, clientSecret } = await t.server.services.clients.create({
        name: 'Bound App',
        type: 'confidential',
        redirectUris: [REDIRECT_URI],
        grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
        dpopBoundAccessTokens: true,
      });
      expect(client.dpopBoundAccessTokens).toBe(true);
      fixture = { ...t.fixture, clientId: client.clientId, clientSecret: clientSecret! };
      config = await discover(t.server, fixture);
    });

    it('is refused a token without a proof, in the code flow and for itself', async () => {
      const inCodeFlow = nextGrantError(t.server.provider);
      expect(await rejectionOf(signInAndExchange(t.server, config, fixture))).toMatchObject({ error: 'invalid_grant' });
      expect(await inCodeFlow).toBe('DPoP proof JWT not provided');
      const forItself = nextGrantError(t.server.provider);
      const bare = await clientCredentials(t.server.url, t.server.issuer, fixture, undefined);
      expect(bare).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
      expect(await forItself).toBe('DPoP proof JWT not provided');
    });

    it('gets bound tokens with a proof', async () => {
      const DPoP = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair());
      const { tokens } = await signInAndExchange(t.server, config, fixture, {}, undefined, { DPoP });
      expect(tokens.token_type).toBe('dpop');
      const key = await proofKey();
      const nonce = await currentNonce(t.server.url, t.server.issuer, fixture, key);
      expect(await clientCredentials(t.server.url, t.server.issuer, fixture, await dpopProof(key, 'POST', `${t.server.issuer}/token`, { nonce }))).toMatchObject({ status: 200, body: { token_type: 'DPoP' } });
    });
  });
});

describe.skipIf(!availableBackends().includes('postgres+redis'))('DPoP across two instances sharing Redis', () => {
  let cluster: TestCluster;
  let fixture: Fixture;
  beforeAll(async () => {
    cluster = await startTestCluster('postgres+redis', 2);
    fixture = await seed(cluster.servers[0]!);
  });
  afterAll(() => cluster?.close());

  it('accepts a nonce from one instance at the other, and refuses there a proof the first one took', async () => {
    const [a, b] = cluster.servers as [NonNullable<TestCluster['servers'][0]>, NonNullable<TestCluster['servers'][0]>];
    const issuer = a.url;
    const key = await proofKey();
    const nonce = await currentNonce(a.url, issuer, fixture, key);
    const proof = await dpopProof(key, 'POST', `${issuer}/token`, { nonce });
    expect(await clientCredentials(b.url, issuer, fixture, proof)).toMatchObject({ status: 200, body: { token_type: 'DPoP' } });
    const detail = nextGrantError(a.provider);
    expect(await clientCredentials(a.url, issuer, fixture, proof)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(await detail).toBe('DPoP proof JWT Replay detected');
  });
});

describe.each(availableBackends())('POSTERN_DPOP_REQUIRE_NONCE=false on %s', (backend) => {
  const t = useSeededServer(backend, { POSTERN_DPOP_REQUIRE_NONCE: 'false' });

  it('takes a fresh proof without a nonce, and still refuses one whose iat is stale', async () => {
    const key = await proofKey();
    const htu = `${t.server.issuer}/token`;
    expect(await clientCredentials(t.server.url, t.server.issuer, t.fixture, await dpopProof(key, 'POST', htu))).toMatchObject({ status: 200, body: { token_type: 'DPoP' } });
    const stale = await clientCredentials(t.server.url, t.server.issuer, t.fixture, await dpopProof(key, 'POST', htu, { iat: Math.floor(Date.now() / 1000) - 600 }));
    expect(stale).toMatchObject({ status: 400, body: { error: 'use_dpop_nonce' } });
  });
});
