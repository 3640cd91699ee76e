import * as oidc from 'openid-client';
import { describe, expect, it } from 'vitest';
import { generateKeyPair, SignJWT, decodeJwt } from 'jose';
import { availableBackends } from '../support/backends.ts';
import { API, useSeededServer, signInAndExchange } from '../support/relying-party.ts';

describe.each(availableBackends())('revocation and introspection on %s', (backend) => {
  const t = useSeededServer(backend);

  it('introspects opaque access tokens, JWT access tokens and refresh tokens as active', async () => {
    const plain = await signInAndExchange(t.server, t.config, t.fixture);
    const api = await signInAndExchange(t.server, t.config, t.fixture, { scope: 'openid offline_access read write' });
    const opaque = await oidc.tokenIntrospection(t.config, plain.tokens.access_token);
    expect(opaque).toMatchObject({ active: true, sub: t.fixture.accountId, client_id: t.fixture.clientId, token_type: 'Bearer' });
    const jwt = await oidc.tokenIntrospection(t.config, api.tokens.access_token);
    expect(jwt).toMatchObject({ active: true, sub: t.fixture.accountId, aud: API, scope: 'read write', iss: t.server.issuer });
    expect(jwt.exp).toBe(decodeJwt(api.tokens.access_token).exp);
    const refresh = await oidc.tokenIntrospection(t.config, api.tokens.refresh_token!);
    expect(refresh).toMatchObject({ active: true, sub: t.fixture.accountId, client_id: t.fixture.clientId });
  });

  it('answers inactive for an unknown token, a forged JWT and a JWT with a tampered payload', async () => {
    expect(await oidc.tokenIntrospection(t.config, 'not-a-token')).toEqual({ active: false });
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT({ scope: 'read', client_id: t.fixture.clientId, sub: t.fixture.accountId })
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt' })
      .setIssuer(t.server.issuer).setAudience(API).setJti('forged').setIssuedAt().setExpirationTime('1h')
      .sign(privateKey);
    expect(await oidc.tokenIntrospection(t.config, forged)).toEqual({ active: false });
    const { tokens } = await signInAndExchange(t.server, t.config, t.fixture, { scope: 'openid read' });
    const [header, , signature] = tokens.access_token.split('.');
    const payload = Buffer.from(JSON.stringify({ ...decodeJwt(tokens.access_token), scope: 'read write' })).toString('base64url');
    expect(await oidc.tokenIntrospection(t.config, `${header}.${payload}.${signature}`)).toEqual({ active: false });
  });

  it('revoking a refresh token revokes its grant: the tokens issued with it introspect inactive', async () => {
    const { tokens } = await signInAndExchange(t.server, t.config, t.fixture, { scope: 'openid offline_access read' });
    await oidc.tokenRevocation(t.config, tokens.refresh_token!);
    expect((await oidc.tokenIntrospection(t.config, tokens.refresh_token!)).active).toBe(false);
    expect((await oidc.tokenIntrospection(t.config, tokens.access_token)).active).toBe(false);
    await expect(oidc.refreshTokenGrant(t.config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('revokes a JWT access token (RFC 7009) so that it introspects inactive', async () => {
    const { tokens } = await signInAndExchange(t.server, t.config, t.fixture, { scope: 'openid offline_access read' });
    expect((await oidc.tokenIntrospection(t.config, tokens.access_token)).active).toBe(true);
    await oidc.tokenRevocation(t.config, tokens.access_token);
    expect((await oidc.tokenIntrospection(t.config, tokens.access_token)).active).toBe(false);
    // the engine also revokes the other tokens of the grant (RFC 7009 §2.1 allows it)
    expect((await oidc.tokenIntrospection(t.config, tokens.refresh_token!)).active).toBe(false);
  });

  it('revokes an opaque access token, and revokes with an unknown token as RFC 7009 asks (200)', async () => {
    const { tokens } = await signInAndExchange(t.server, t.config, t.fixture);
    await oidc.tokenRevocation(t.config, tokens.access_token);
    expect((await oidc.tokenIntrospection(t.config, tokens.access_token)).active).toBe(false);
    await expect(oidc.fetchUserInfo(t.config, tokens.access_token, t.fixture.accountId)).rejects.toBeDefined();
    await oidc.tokenRevocation(t.config, 'unknown-token');
  });

  it('does not let a public client introspect another client\'s tokens', async () => {
    const { tokens } = await signInAndExchange(t.server, t.config, t.fixture);
    const { client } = await t.server.services.clients.create({ name: 'SPA', type: 'public', redirectUris: ['http://localhost:8080/callback'] });
    const spa = await oidc.discovery(new URL(t.server.issuer), client.clientId, undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
    expect(await oidc.tokenIntrospection(spa, tokens.access_token)).toEqual({ active: false });
  });

  it('answers inactive for a disabled account\'s tokens at every spelling of the introspection path the engine serves', async () => {
    const username = `disabled-${backend}`;
    const password = 'a passphrase for the account that goes';
    await t.server.services.accounts.create({ username, email: `${username}@example.test` }, password);
    const plain = await signInAndExchange(t.server, t.config, { ...t.fixture, username, password });
    const api = await signInAndExchange(t.server, t.config, { ...t.fixture, username, password }, { scope: 'openid offline_access read' });
    const account = (await t.server.services.accounts.findByLogin(username))!;
    await t.server.storage.db('accounts').where({ id: account.id }).update({ disabled: true });
    await t.server.storage.recordCache.accounts().invalidate([account.id]);
    const basic = `Basic ${Buffer.from(`${t.fixture.clientId}:${t.fixture.clientSecret}`).toString('base64')}`;
    for (const path of ['/token/introspection', '/token/introspection/', '/TOKEN/Introspection', '/Token/INTROSPECTION/']) {
      for (const token of [plain.tokens.access_token, api.tokens.access_token, plain.tokens.refresh_token!]) {
        const response = await fetch(new URL(path, t.server.issuer), {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
          body: new URLSearchParams({ token }),
        });
        expect(response.status, path).toBe(200);
        expect(await response.json(), path).toEqual({ active: false });
      }
    }
  });

  it('requires client authentication at introspection', async () => {
    const response = await fetch(new URL('/token/introspection', t.server.issuer), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${t.fixture.clientId}:wrong`).toString('base64')}` },
      body: new URLSearchParams({ token: 'x' }),
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'invalid_client' });
  });
});
