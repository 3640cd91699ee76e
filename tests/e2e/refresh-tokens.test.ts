import * as oidc from 'openid-client';
import { describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { discover, useSeededServer, seed, signInAndExchange } from '../support/relying-party.ts';

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
  });

  it('revokes the whole grant when a rotated refresh token is used again', async () => {
    const { tokens } = await signInAndExchange(t.server, t.config, t.fixture);
    const rotated = await oidc.refreshTokenGrant(t.config, tokens.refresh_token!);
    await expect(oidc.refreshTokenGrant(t.config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    // the token the legitimate client holds now is dead too, and so is its access token
    await expect(oidc.refreshTokenGrant(t.config, rotated.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await oidc.tokenIntrospection(t.config, rotated.refresh_token!)).active).toBe(false);
    expect((await oidc.tokenIntrospection(t.config, rotated.access_token)).active).toBe(false);
  });

  it('lets exactly one of several concurrent uses of one refresh token win', async () => {
    const { tokens } = await signInAndExchange(t.server, t.config, t.fixture);
    const attempts = await Promise.allSettled(Array.from({ length: 5 }, () => oidc.refreshTokenGrant(t.config, tokens.refresh_token!)));
    const won = attempts.filter((attempt) => attempt.status === 'fulfilled');
    const lost = attempts.filter((attempt) => attempt.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(4);
    for (const attempt of lost) expect((attempt as PromiseRejectedResult).reason).toMatchObject({ error: 'invalid_grant' });
    // a loser that arrived after the winner consumed the token is a reuse: the grant is revoked
    // (no grace window), so the winner's new refresh token may be dead too — but never two live chains
    const winner = (won[0] as PromiseFulfilledResult<oidc.TokenEndpointResponse>).value;
    expect(winner.refresh_token).not.toBe(tokens.refresh_token);
  });

  it('refuses a refresh token presented by another client', async () => {
    const { tokens } = await signInAndExchange(t.server, t.config, t.fixture);
    const other = await seed(t.server, { clientName: 'Other App' });
    const otherConfig = await discover(t.server, other);
    await expect(oidc.refreshTokenGrant(otherConfig, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });
});
