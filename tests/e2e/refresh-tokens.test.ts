import * as oidc from 'openid-client';
import { describe, expect, it } from 'vitest';
import type { KvStore } from '../../src/store/kv/index.ts';
import { StorageUnavailable } from '../../src/store/unavailable.ts';
import { availableBackends } from '../support/backends.ts';
import { discover, useSeededServer, seed, signInAndExchange, type SeededServer } from '../support/relying-party.ts';

/** The refresh tokens of `grantId` that could still be redeemed: the chain's live links. */
async function liveRefreshTokens(t: SeededServer, grantId: string): Promise<number> {
  const rows = await t.server.storage.db('oidc_payloads')
    .where({ model: 'RefreshToken', grant_id: grantId })
    .whereNull('consumed_at')
    .andWhere('expires_at', '>', t.server.storage.db.fn.now())
    .count<Array<{ count: string | number }>>({ count: '*' });
  return Number(rows[0]!.count);
}

async function grantOf(t: SeededServer, refreshToken: string): Promise<string> {
  const token = await t.server.provider.RefreshToken.find(refreshToken);
  return token!.grantId!;
}

function rejectionOf(attempt: Promise<unknown>) {
  return attempt.then(
    () => expect.unreachable('the refresh was not refused'),
    (error: unknown) => error,
  );
}

describe.each(availableBackends())('refresh tokens on %s', (backend) => {
  const t = useSeededServer(backend);

  it('rotates the refresh token on every use and keeps it opaque', async () => {
    const { tokens } = await signInAndExchange(t.server, t.config, t.fixture);
    const first = tokens.refresh_token!;
    expect(first.split('.')).toHaveLength(1);
    const second = await oidc.refreshTokenGrant(t.config, first);
    expect(second.refresh_token).toBeTypeOf('string');
    expect(second.refresh_token).not.toBe(first);
    const third = await oidc.refreshTokenGrant(t.config, second.refresh_token!);
    expect(third.refresh_token).not.toBe(second.refresh_token);
    expect((await oidc.tokenIntrospection(t.config, third.refresh_token!)).active).toBe(true);
    expect(await liveRefreshTokens(t, await grantOf(t, third.refresh_token!))).toBe(1);
  });

  it('answers a retried refresh within the reuse interval with the same successor and a working access token', async () => {
    const { tokens } = await signInAndExchange(t.server, t.config, t.fixture);
    const first = await oidc.refreshTokenGrant(t.config, tokens.refresh_token!);
    // the response was lost: the client sends the same token again
    const retried = await oidc.refreshTokenGrant(t.config, tokens.refresh_token!);
    expect(retried.refresh_token).toBe(first.refresh_token);
    expect(retried.access_token).not.toBe(first.access_token);
    expect((await oidc.tokenIntrospection(t.config, retried.access_token)).active).toBe(true);
    expect(await oidc.fetchUserInfo(t.config, retried.access_token, t.fixture.accountId)).toMatchObject({ sub: t.fixture.accountId });
    // no branching: one live link, and the chain goes on from it
    const grantId = await grantOf(t, retried.refresh_token!);
    expect(await liveRefreshTokens(t, grantId)).toBe(1);
    const next = await oidc.refreshTokenGrant(t.config, retried.refresh_token!);
    expect((await oidc.tokenIntrospection(t.config, next.refresh_token!)).active).toBe(true);
    expect(await liveRefreshTokens(t, grantId)).toBe(1);
  });

  it('revokes the grant when a rotated token comes back after its successor was used', async () => {
    const { tokens } = await signInAndExchange(t.server, t.config, t.fixture);
    const rotated = await oidc.refreshTokenGrant(t.config, tokens.refresh_token!);
    const onward = await oidc.refreshTokenGrant(t.config, rotated.refresh_token!);
    expect(await rejectionOf(oidc.refreshTokenGrant(t.config, tokens.refresh_token!))).toMatchObject({ error: 'invalid_grant' });
    await expect(oidc.refreshTokenGrant(t.config, onward.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await oidc.tokenIntrospection(t.config, onward.access_token)).active).toBe(false);
  });

  it.each([8, 32])('of %i simultaneous refreshes of one token exactly one rotates, and every caller gets the successor that works', async (concurrency) => {
    for (let round = 0; round < 3; round += 1) {
      const { tokens } = await signInAndExchange(t.server, t.config, t.fixture);
      const attempts = await Promise.allSettled(Array.from({ length: concurrency }, () => oidc.refreshTokenGrant(t.config, tokens.refresh_token!)));
      const refused = attempts.filter((attempt) => attempt.status === 'rejected');
      expect(refused.map((attempt) => String((attempt as PromiseRejectedResult).reason))).toEqual([]);
      const successors = new Set(attempts.map((attempt) => (attempt as PromiseFulfilledResult<oidc.TokenEndpointResponse>).value.refresh_token));
      expect(successors.size).toBe(1);
      const [successor] = [...successors];
      const grantId = await grantOf(t, successor!);
      expect(await liveRefreshTokens(t, grantId)).toBe(1);
      const onward = await oidc.refreshTokenGrant(t.config, successor!);
      expect((await oidc.tokenIntrospection(t.config, onward.access_token)).active).toBe(true);
    }
  });

  it('leaves the presented token usable when the access token cannot be stored', async () => {
    const { tokens } = await signInAndExchange(t.server, t.config, t.fixture);
    const kv = t.server.storage.kv as KvStore;
    const set = kv.set.bind(kv);
    // the ephemeral tier refuses one write of an access token, as Redis does when it is full or gone
    let refused = 0;
    kv.set = async (key, value, ttl) => {
      if (refused === 0 && key.startsWith('oidc:AccessToken:')) {
        refused += 1;
        throw new StorageUnavailable('kv', new Error('OOM command not allowed'));
      }
      return set(key, value, ttl);
    };
    try {
      const failed = await fetch(new URL('/token', t.server.issuer), {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${t.fixture.clientId}:${t.fixture.clientSecret}`).toString('base64')}`,
        },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }),
      });
      expect(failed.status).toBe(503);
      expect(await failed.json()).toMatchObject({ error: 'temporarily_unavailable' });
    } finally {
      kv.set = set;
    }
    expect(refused).toBe(1);
    // nothing was consumed: the same token rotates now, and only once
    const retried = await oidc.refreshTokenGrant(t.config, tokens.refresh_token!);
    expect((await oidc.tokenIntrospection(t.config, retried.access_token)).active).toBe(true);
    expect(await liveRefreshTokens(t, await grantOf(t, retried.refresh_token!))).toBe(1);
  });

  it('refuses a refresh token presented by another client, and does not hand out its successor', async () => {
    const { tokens } = await signInAndExchange(t.server, t.config, t.fixture);
    await oidc.refreshTokenGrant(t.config, tokens.refresh_token!);
    const other = await seed(t.server, { clientName: 'Other App' });
    const otherConfig = await discover(t.server, other);
    await expect(oidc.refreshTokenGrant(otherConfig, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });
});

describe.each(availableBackends())('refresh token reuse after the interval on %s', (backend) => {
  const t = useSeededServer(backend, { POSTERN_REFRESH_REUSE_INTERVAL: '1' });

  it('revokes the whole grant when a rotated token is used again after the reuse interval', async () => {
    const { tokens } = await signInAndExchange(t.server, t.config, t.fixture);
    const rotated = await oidc.refreshTokenGrant(t.config, tokens.refresh_token!);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await expect(oidc.refreshTokenGrant(t.config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    // the token the legitimate client holds now is dead too, and so is its access token
    await expect(oidc.refreshTokenGrant(t.config, rotated.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await oidc.tokenIntrospection(t.config, rotated.refresh_token!)).active).toBe(false);
    expect((await oidc.tokenIntrospection(t.config, rotated.access_token)).active).toBe(false);
  });
});

describe.each(availableBackends())('refresh token reuse interval off on %s', (backend) => {
  const t = useSeededServer(backend, { POSTERN_REFRESH_REUSE_INTERVAL: '0' });

  it('revokes the grant on any reuse, however soon', async () => {
    const { tokens } = await signInAndExchange(t.server, t.config, t.fixture);
    const rotated = await oidc.refreshTokenGrant(t.config, tokens.refresh_token!);
    await expect(oidc.refreshTokenGrant(t.config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(oidc.refreshTokenGrant(t.config, rotated.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });
});
