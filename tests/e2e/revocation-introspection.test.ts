import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, SignJWT, decodeJwt } from 'jose';
import { availableBackends } from '../support/backends.ts';
import { API, discover, seed, signInAndExchange, type Fixture } from '../support/relying-party.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

describe.each(availableBackends())('revocation and introspection on %s', (backend) => {
  let server: TestServer;
  let fixture: Fixture;
  let config: oidc.Configuration;

  beforeAll(async () => {
    server = await startTestServer(backend);
    fixture = await seed(server);
    config = await discover(server, fixture);
  });
  afterAll(() => server?.close());

  it('introspects opaque access tokens, JWT access tokens and refresh tokens as active', async () => {
    const plain = await signInAndExchange(server, config, fixture);
    const api = await signInAndExchange(server, config, fixture, { scope: 'openid offline_access read write' });
    const opaque = await oidc.tokenIntrospection(config, plain.tokens.access_token);
    expect(opaque).toMatchObject({ active: true, sub: fixture.accountId, client_id: fixture.clientId, token_type: 'Bearer' });
    const jwt = await oidc.tokenIntrospection(config, api.tokens.access_token);
    expect(jwt).toMatchObject({ active: true, sub: fixture.accountId, aud: API, scope: 'read write', iss: server.issuer });
    expect(jwt.exp).toBe(decodeJwt(api.tokens.access_token).exp);
    const refresh = await oidc.tokenIntrospection(config, api.tokens.refresh_token!);
    expect(refresh).toMatchObject({ active: true, sub: fixture.accountId, client_id: fixture.clientId });
  });

  it('answers inactive for an unknown token, a forged JWT and a JWT with a tampered payload', async () => {
    expect(await oidc.tokenIntrospection(config, 'not-a-token')).toEqual({ active: false });
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT({ scope: 'read', client_id: fixture.clientId, sub: fixture.accountId })
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt' })
      .setIssuer(server.issuer).setAudience(API).setJti('forged').setIssuedAt().setExpirationTime('1h')
      .sign(privateKey);
    expect(await oidc.tokenIntrospection(config, forged)).toEqual({ active: false });
    const { tokens } = await signInAndExchange(server, config, fixture, { scope: 'openid read' });
    const [header, , signature] = tokens.access_token.split('.');
    const payload = Buffer.from(JSON.stringify({ ...decodeJwt(tokens.access_token), scope: 'read write' })).toString('base64url');
    expect(await oidc.tokenIntrospection(config, `${header}.${payload}.${signature}`)).toEqual({ active: false });
  });

  it('revoking a refresh token revokes its grant: the tokens issued with it introspect inactive', async () => {
    const { tokens } = await signInAndExchange(server, config, fixture, { scope: 'openid offline_access read' });
    await oidc.tokenRevocation(config, tokens.refresh_token!);
    expect((await oidc.tokenIntrospection(config, tokens.refresh_token!)).active).toBe(false);
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('revokes a JWT access token (RFC 7009) so that it introspects inactive', async () => {
    const { tokens } = await signInAndExchange(server, config, fixture, { scope: 'openid offline_access read' });
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(true);
    await oidc.tokenRevocation(config, tokens.access_token);
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
    // the engine also revokes the other tokens of the grant (RFC 7009 §2.1 allows it)
    expect((await oidc.tokenIntrospection(config, tokens.refresh_token!)).active).toBe(false);
  });

  it('revokes an opaque access token, and revokes with an unknown token as RFC 7009 asks (200)', async () => {
    const { tokens } = await signInAndExchange(server, config, fixture);
    await oidc.tokenRevocation(config, tokens.access_token);
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
    await expect(oidc.fetchUserInfo(config, tokens.access_token, fixture.accountId)).rejects.toBeDefined();
    await oidc.tokenRevocation(config, 'unknown-token');
  });

  it('does not let a public client introspect another client\'s tokens', async () => {
    const { tokens } = await signInAndExchange(server, config, fixture);
    const { client } = await server.services.clients.create({ name: 'SPA', type: 'public', redirectUris: ['http://localhost:8080/callback'] });
    const spa = await oidc.discovery(new URL(server.issuer), client.clientId, undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
    expect(await oidc.tokenIntrospection(spa, tokens.access_token)).toEqual({ active: false });
  });

  it('requires client authentication at introspection', async () => {
    const response = await fetch(new URL('/token/introspection', server.issuer), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${fixture.clientId}:wrong`).toString('base64')}` },
      body: new URLSearchParams({ token: 'x' }),
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'invalid_client' });
  });
});
