import * as oidc from 'openid-client';
import { expect, it } from 'vitest';
import type { Fixture } from '../support/relying-party.ts';
import { signInAndExchange } from '../support/relying-party.ts';
import type { TestServer } from '../support/test-server.ts';

export interface FlowTarget {
  server: TestServer;
  fixture: Fixture;
  config: oidc.Configuration;
}

/**
 * The protocol flows end to end through openid-client, against a server whatever its storage:
 * sign-in with code + PKCE, refresh, revocation, client credentials, introspection.
 */
export function flowCases(target: () => FlowTarget): void {
  it('code flow with PKCE: tokens, an ID token for the account, userinfo', async () => {
    const { server, fixture, config } = target();
    const { tokens } = await signInAndExchange(server, config, fixture);
    expect(tokens.claims()?.sub).toBe(fixture.accountId);
    expect(await oidc.fetchUserInfo(config, tokens.access_token, fixture.accountId)).toMatchObject({ sub: fixture.accountId, email: `${fixture.username}@example.test` });
    expect(await oidc.tokenIntrospection(config, tokens.access_token)).toMatchObject({ active: true, sub: fixture.accountId, client_id: fixture.clientId });
  });

  it('an authorization code is redeemed once: a second exchange is refused and revokes what the first gave', async () => {
    const { server, fixture, config } = target();
    const { tokens, callback, start } = await signInAndExchange(server, config, fixture);
    await expect(oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce })).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
  });

  it('refresh rotates the refresh token and issues a working access token', async () => {
    const { server, fixture, config } = target();
    const { tokens } = await signInAndExchange(server, config, fixture);
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.refresh_token).toBeTypeOf('string');
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect((await oidc.tokenIntrospection(config, refreshed.access_token)).active).toBe(true);
    expect((await oidc.tokenIntrospection(config, refreshed.refresh_token!)).active).toBe(true);
  });

  it('revoking the refresh token ends the grant: its tokens introspect inactive and refresh is refused', async () => {
    const { server, fixture, config } = target();
    const { tokens } = await signInAndExchange(server, config, fixture);
    await oidc.tokenRevocation(config, tokens.refresh_token!);
    expect((await oidc.tokenIntrospection(config, tokens.refresh_token!)).active).toBe(false);
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('client credentials: a JWT access token that introspects active until it is revoked', async () => {
    const { fixture, config } = target();
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'read' });
    expect(await oidc.tokenIntrospection(config, tokens.access_token)).toMatchObject({ active: true, client_id: fixture.clientId, scope: 'read' });
    await oidc.tokenRevocation(config, tokens.access_token);
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
  });
}
