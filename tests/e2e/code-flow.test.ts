import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { API, discover, seed, signInAndExchange, type Fixture } from '../support/relying-party.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

describe.each(availableBackends())('authorization code + PKCE on %s', (backend) => {
  let server: TestServer;
  let fixture: Fixture;
  let config: oidc.Configuration;

  beforeAll(async () => {
    server = await startTestServer(backend);
    fixture = await seed(server);
    config = await discover(server, fixture);
  });
  afterAll(() => server?.close());

  it('signs in through the login and consent pages and issues RS256 tokens verifiable with the JWKS', async () => {
    const { tokens } = await signInAndExchange(server, config, fixture);
    const jwks = createRemoteJWKSet(new URL('/jwks', server.issuer));
    const idToken = await jwtVerify(tokens.id_token!, jwks, { issuer: server.issuer, audience: fixture.clientId, algorithms: ['RS256'] });
    expect(idToken.protectedHeader.alg).toBe('RS256');
    expect(idToken.payload.sub).toBe(fixture.accountId);
    expect(tokens.refresh_token).toBeTypeOf('string');
    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, fixture.accountId);
    expect(userinfo).toMatchObject({ sub: fixture.accountId, email: 'alice@example.test', email_verified: true, name: 'Alice Example', preferred_username: 'alice' });
  });

  it('issues an RFC 9068 JWT for the default API when API scopes are asked for without resource', async () => {
    const { tokens } = await signInAndExchange(server, config, fixture, { scope: 'openid read' });
    const jwks = createRemoteJWKSet(new URL('/jwks', server.issuer));
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, { issuer: server.issuer, audience: API, typ: 'at+jwt', algorithms: ['RS256'] });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload).toMatchObject({ sub: fixture.accountId, client_id: fixture.clientId, scope: 'read' });
    const introspection = await oidc.tokenIntrospection(config, tokens.access_token);
    expect(introspection).toMatchObject({ active: true, sub: fixture.accountId, client_id: fixture.clientId, scope: 'read', jti: payload.jti });
  });
});
