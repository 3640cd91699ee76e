import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { API, useSeededServer, signInAndExchange } from '../support/relying-party.ts';

describe.each(availableBackends())('authorization code + PKCE on %s', (backend) => {
  const t = useSeededServer(backend);

  it('signs in through the login and consent pages and issues RS256 tokens verifiable with the JWKS', async () => {
    const { tokens } = await signInAndExchange(t.server, t.config, t.fixture);
    const jwks = createRemoteJWKSet(new URL('/jwks', t.server.issuer));
    const idToken = await jwtVerify(tokens.id_token!, jwks, { issuer: t.server.issuer, audience: t.fixture.clientId, algorithms: ['RS256'] });
    expect(idToken.protectedHeader.alg).toBe('RS256');
    expect(idToken.payload.sub).toBe(t.fixture.accountId);
    expect(tokens.refresh_token).toBeTypeOf('string');
    const userinfo = await oidc.fetchUserInfo(t.config, tokens.access_token, t.fixture.accountId);
    expect(userinfo).toMatchObject({ sub: t.fixture.accountId, email: 'alice@example.test', email_verified: true, name: 'Alice Example', preferred_username: 'alice' });
  });

  it('issues an RFC 9068 JWT for the default API when API scopes are asked for without resource', async () => {
    const { tokens } = await signInAndExchange(t.server, t.config, t.fixture, { scope: 'openid read' });
    const jwks = createRemoteJWKSet(new URL('/jwks', t.server.issuer));
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, { issuer: t.server.issuer, audience: API, typ: 'at+jwt', algorithms: ['RS256'] });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload).toMatchObject({ sub: t.fixture.accountId, client_id: t.fixture.clientId, scope: 'read' });
    const introspection = await oidc.tokenIntrospection(t.config, tokens.access_token);
    expect(introspection).toMatchObject({ active: true, sub: t.fixture.accountId, client_id: t.fixture.clientId, scope: 'read', jti: payload.jti });
  });
});
