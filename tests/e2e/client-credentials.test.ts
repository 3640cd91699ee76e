import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { API, discover, useSeededServer } from '../support/relying-party.ts';

describe.each(availableBackends())('client credentials on %s', (backend) => {
  const t = useSeededServer(backend);

  beforeAll(async () => {
    await t.server.services.resourceServers.create({ identifier: 'https://billing.example.test', name: 'Billing', access: 'open', scopes: [{ scope: 'invoices:read' }] });
  });

  it('issues an RS256 JWT access token for the default API when no resource is sent', async () => {
    const tokens = await oidc.clientCredentialsGrant(t.config, { scope: 'read' });
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.refresh_token).toBeUndefined();
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL('/jwks', t.server.issuer)), {
      issuer: t.server.issuer, audience: API, typ: 'at+jwt', algorithms: ['RS256'],
    });
    expect(protectedHeader.kid).toBeTypeOf('string');
    expect(payload).toMatchObject({ client_id: t.fixture.clientId, scope: 'read', sub: t.fixture.clientId });
    expect(await oidc.tokenIntrospection(t.config, tokens.access_token)).toMatchObject({ active: true, client_id: t.fixture.clientId, aud: API });
  });

  it('revokes a client-credentials JWT (RFC 7009) so that it introspects inactive', async () => {
    const tokens = await oidc.clientCredentialsGrant(t.config, { scope: 'read' });
    expect((await oidc.tokenIntrospection(t.config, tokens.access_token)).active).toBe(true);
    await oidc.tokenRevocation(t.config, tokens.access_token);
    expect((await oidc.tokenIntrospection(t.config, tokens.access_token)).active).toBe(false);
  });

  it('issues a token for the API named by resource', async () => {
    const tokens = await oidc.clientCredentialsGrant(t.config, { scope: 'invoices:read', resource: 'https://billing.example.test' });
    const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL('/jwks', t.server.issuer)), { audience: 'https://billing.example.test' });
    expect(payload.scope).toBe('invoices:read');
  });

  it('refuses an unknown resource, and never grants a scope the API does not have', async () => {
    await expect(oidc.clientCredentialsGrant(t.config, { scope: 'read', resource: 'https://unknown.example.test' })).rejects.toMatchObject({ error: 'invalid_target' });
    // RFC 6749 §3.3: the t.server may ignore part of the requested scope; it must not grant it
    const tokens = await oidc.clientCredentialsGrant(t.config, { scope: 'read delete-everything', resource: API });
    expect(tokens.scope).toBe('read');
    expect((await oidc.tokenIntrospection(t.config, tokens.access_token)).scope).toBe('read');
  });

  it('gives a client registered with a scope allowance only the allowed scopes of the API', async () => {
    const { client, clientSecret } = await t.server.services.clients.create({ name: 'Reader', type: 'confidential', grantTypes: ['client_credentials'], scopes: ['read'] });
    const reader = await discover(t.server, { clientId: client.clientId, clientSecret: clientSecret! });
    const tokens = await oidc.clientCredentialsGrant(reader, { scope: 'read write', resource: API });
    expect(tokens.scope).toBe('read');
    expect((await oidc.tokenIntrospection(reader, tokens.access_token)).scope).toBe('read');
  });

  it('refuses a wrong client secret', async () => {
    const wrong = await discover(t.server, { clientId: t.fixture.clientId, clientSecret: 'not-the-secret' });
    await expect(oidc.clientCredentialsGrant(wrong, { scope: 'read' })).rejects.toMatchObject({
      status: 401,
      cause: [{ scheme: 'basic', parameters: { error: 'invalid_client' } }],
    });
  });

  it('refuses a client that is not registered for client_credentials', async () => {
    const { client, clientSecret } = await t.server.services.clients.create({ name: 'Web only', type: 'confidential', redirectUris: ['http://localhost:8080/callback'] });
    const webOnly = await discover(t.server, { clientId: client.clientId, clientSecret: clientSecret! });
    await expect(oidc.clientCredentialsGrant(webOnly, { scope: 'read' })).rejects.toMatchObject({
      error: 'invalid_request',
      error_description: 'requested grant type is not allowed for this client',
    });
  });

  it('refuses a client as soon as it is deleted, though registrations are cached', async () => {
    const { client, clientSecret } = await t.server.services.clients.create({ name: 'Short-lived', type: 'confidential', grantTypes: ['client_credentials'] });
    const shortLived = await discover(t.server, { clientId: client.clientId, clientSecret: clientSecret! });
    await oidc.clientCredentialsGrant(shortLived, { scope: 'read' });
    await t.server.services.clients.delete(client.clientId);
    await expect(oidc.clientCredentialsGrant(shortLived, { scope: 'read' })).rejects.toMatchObject({ status: 401 });
  });

  it('refuses the password grant and unknown grant types', async () => {
    const response = await fetch(new URL('/token', t.server.issuer), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${t.fixture.clientId}:${t.fixture.clientSecret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'password', username: t.fixture.username, password: t.fixture.password }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'unsupported_grant_type' });
  });
});
