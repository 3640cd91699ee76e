import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepUnusedRegistrations } from '../../src/domain/registration-sweep.ts';
import { availableBackends } from '../support/backends.ts';
import { seed, signIn, type Fixture } from '../support/relying-party.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { UserAgent } from '../support/user-agent.ts';

const WEB_REDIRECT = 'https://app.example.test/callback';

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function call(server: TestServer, method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<Answer> {
  const response = await fetch(new URL(path, server.issuer), {
    method,
    headers: {
      accept: 'application/json',
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: response.headers };
}

function register(server: TestServer, metadata: Record<string, unknown>, token?: string): Promise<Answer> {
  return call(server, 'POST', '/reg', { body: metadata, ...(token ? { token } : {}) });
}

async function auditTypes(server: TestServer, clientId?: string): Promise<string[]> {
  const events = await server.services.audit.page(clientId ? { clientId } : {}, { limit: 100 });
  return events.map((event) => event.type);
}

describe('dynamic client registration is off by default', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('embedded');
  });
  afterAll(() => server?.close());

  it('advertises no registration endpoint and serves none', async () => {
    const discovery = await call(server, 'GET', '/.well-known/openid-configuration');
    expect(discovery.body).not.toHaveProperty('registration_endpoint');
    expect(discovery.body).not.toHaveProperty('client_id_metadata_document_supported');
    const oauth = await call(server, 'GET', '/.well-known/oauth-authorization-server');
    expect(oauth.body).not.toHaveProperty('registration_endpoint');
    const attempt = await register(server, { redirect_uris: [WEB_REDIRECT] });
    expect(attempt.status).toBe(404);
  });
});

describe.each(availableBackends())('dynamic client registration with initial access tokens on %s', (backend) => {
  let server: TestServer;
  let fixture: Fixture;

  beforeAll(async () => {
    server = await startTestServer(backend, {
      POSTERN_CLIENT_REGISTRATION: 'token',
      POSTERN_CLIENT_REGISTRATION_REDIRECT_URIS: 'https://*.example.test/callback, http://127.0.0.1:*',
      POSTERN_CLIENT_REGISTRATION_SCOPES: 'openid profile offline_access read',
      POSTERN_RATE_LIMIT_CLIENT_REGISTRATION: '1000/1m',
    });
    fixture = await seed(server);
  });
  afterAll(() => server?.close());

  const metadata = { client_name: 'Registered App', redirect_uris: [WEB_REDIRECT], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] };

  it('advertises the registration endpoint', async () => {
    const discovery = await call(server, 'GET', '/.well-known/openid-configuration');
    expect(discovery.body.registration_endpoint).toBe(`${server.issuer}/reg`);
    // RFC 8414 metadata, which MCP clients read first, says the same
    expect((await call(server, 'GET', '/.well-known/oauth-authorization-server')).body.registration_endpoint).toBe(`${server.issuer}/reg`);
  });

  it('refuses a registration without, or with an unknown, initial access token', async () => {
    const without = await register(server, metadata);
    expect(without.status).toBe(401);
    expect(without.body.error).toMatch(/^invalid_(request|token)$/);
    const unknown = await register(server, metadata, 'pit_not-a-token');
    expect(unknown.status).toBe(401);
    expect(unknown.body.error).toBe('invalid_token');
    expect(unknown.headers.get('www-authenticate')).toMatch(/^Bearer /);
  });

  it('refuses an expired initial access token and a used-up one', async () => {
    const expired = await server.services.initialAccessTokens.create({ ttlSeconds: 60 });
    await server.storage.db('initial_access_tokens').where({ id: expired.token.id }).update({ expires_at: new Date(Date.now() - 1000) });
    expect((await register(server, metadata, expired.value)).body.error).toBe('invalid_token');

    const once = await server.services.initialAccessTokens.create({ maxUses: 1 });
    // a refused registration gives its use back
    const refused = await register(server, { ...metadata, redirect_uris: ['https://evil.test/callback'] }, once.value);
    expect(refused.body.error).toBe('invalid_redirect_uri');
    expect((await register(server, metadata, once.value)).status).toBe(201);
    expect((await register(server, metadata, once.value)).body.error).toBe('invalid_token');
    const [listed] = (await server.services.initialAccessTokens.list()).filter((token) => token.id === once.token.id);
    expect(listed).toMatchObject({ uses: 1, usesLeft: 0 });
  });

  it('refuses redirect URIs, grant types and scopes outside the policy, and operator-only metadata', async () => {
    const { value } = await server.services.initialAccessTokens.create({});
    const outside = await register(server, { ...metadata, redirect_uris: ['https://example.test.evil.test/callback'] }, value);
    expect(outside.body).toMatchObject({ error: 'invalid_redirect_uri' });
    const userinfo = await register(server, { ...metadata, redirect_uris: ['https://a.example.test@evil.test/callback'] }, value);
    expect(userinfo.status).toBe(400);
    const grant = await register(server, { ...metadata, grant_types: ['client_credentials'], response_types: [] }, value);
    expect(grant.body).toMatchObject({ error: 'invalid_client_metadata', error_description: expect.stringMatching(/client_credentials/) });
    const scope = await register(server, { ...metadata, scope: 'openid write' }, value);
    expect(scope.body).toMatchObject({ error: 'invalid_client_metadata', error_description: expect.stringMatching(/write/) });
    const firstParty = await register(server, { ...metadata, first_party: true }, value);
    expect(firstParty.body).toMatchObject({ error: 'invalid_client_metadata', error_description: expect.stringMatching(/first_party/) });
    const exchange = await register(server, { ...metadata, token_exchange_audiences: ['https://api.example.test'] }, value);
    expect(exchange.body).toMatchObject({ error: 'invalid_client_metadata', error_description: expect.stringMatching(/token_exchange_audiences/) });
    await expect.poll(() => auditTypes(server)).toContain('client.registration_refused');
  });

  it('registers a confidential client that then signs a user in, listed as dynamic and audited', async () => {
    const { value } = await server.services.initialAccessTokens.create({ description: 'partner' });
    const answer = await register(server, { ...metadata, scope: 'openid read', require_pushed_authorization_requests: false, dpop_bound_access_tokens: false }, value);
    expect(answer.status).toBe(201);
    const clientId = answer.body.client_id as string;
    const clientSecret = answer.body.client_secret as string;
    expect(clientSecret).toEqual(expect.any(String));
    expect(answer.body.registration_client_uri).toBe(`${server.issuer}/reg/${clientId}`);
    const summary = await server.services.clients.get(clientId);
    expect(summary).toMatchObject({ dynamic: true, firstUsedAt: null, type: 'confidential', scopes: ['openid', 'read'], firstParty: false, pkcePolicy: 'required' });
    expect((await server.services.clients.list()).find((client) => client.clientId === clientId)?.dynamic).toBe(true);

    const config = await oidc.discovery(new URL(server.issuer), clientId, clientSecret, oidc.ClientSecretBasic(clientSecret), { execute: [oidc.allowInsecureRequests] });
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: WEB_REDIRECT, scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'abc' });
    const callback = await signIn(new UserAgent(server.issuer), url, fixture, { consent: true });
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: 'abc' });
    expect(tokens.claims()?.sub).toBe(fixture.accountId);
    await expect.poll(async () => (await server.services.clients.get(clientId)).firstUsedAt).not.toBeNull();
    await expect.poll(() => auditTypes(server, clientId)).toContain('client.registered');

    // used: the sweep leaves it alone
    await sweepUnusedRegistrations(server.services.clients, server.services.audit, 1);
    expect((await server.services.clients.get(clientId)).dynamic).toBe(true);
  });

  it('reads, changes and deletes a registration with its registration access token only', async () => {
    const { value } = await server.services.initialAccessTokens.create({});
    const created = await register(server, metadata, value);
    const clientId = created.body.client_id as string;
    const token = created.body.registration_access_token as string;
    const path = `/reg/${clientId}`;

    const wrong = await call(server, 'GET', path, { token: 'not-the-token' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe('invalid_token');
    const other = await register(server, metadata, (await server.services.initialAccessTokens.create({})).value);
    const crossed = await call(server, 'GET', path, { token: other.body.registration_access_token as string });
    expect(crossed.body.error).toBe('invalid_token');

    const read = await call(server, 'GET', path, { token });
    expect(read.status).toBe(200);
    expect(read.body.redirect_uris).toEqual([WEB_REDIRECT]);

    const changed = { ...metadata, client_id: clientId, client_secret: created.body.client_secret, redirect_uris: ['https://two.example.test/callback'] };
    const outside = await call(server, 'PUT', path, { token, body: { ...changed, redirect_uris: ['https://evil.test/callback'] } });
    expect(outside.body.error).toBe('invalid_redirect_uri');
    const promoted = await call(server, 'PUT', path, { token, body: { ...changed, first_party: true } });
    expect(promoted.body).toMatchObject({ error: 'invalid_client_metadata', error_description: expect.stringMatching(/first_party/) });
    expect((await server.services.clients.get(clientId)).firstParty).toBe(false);
    const updated = await call(server, 'PUT', path, { token, body: changed });
    expect(updated.status).toBe(200);
    expect((await server.services.clients.get(clientId)).redirectUris).toEqual(['https://two.example.test/callback']);
    const rotated = updated.body.registration_access_token as string;

    expect((await call(server, 'DELETE', path, { token: 'wrong' })).status).toBe(401);
    const deleted = await call(server, 'DELETE', path, { token: rotated });
    expect(deleted.status).toBe(204);
    await expect(server.services.clients.get(clientId)).rejects.toThrow(/no client/);
    await expect.poll(() => auditTypes(server, clientId)).toEqual(expect.arrayContaining(['client.registered', 'client.registration_updated', 'client.registration_deleted']));
  });

  it('sweeps registrations never used, with an audit record, and never an operator\'s client', async () => {
    const { value } = await server.services.initialAccessTokens.create({});
    const created = await register(server, metadata, value);
    const clientId = created.body.client_id as string;
    expect(await server.storage.db('oidc_payloads').where({ model: 'RegistrationAccessToken' }).whereRaw("payload->>'clientId' = ?", [clientId])).toHaveLength(1);
    await server.storage.db('clients').where({ client_id: clientId }).update({ created_at: new Date(Date.now() - 3600_000) });
    await server.storage.db('clients').where({ client_id: fixture.clientId }).update({ created_at: new Date(Date.now() - 3600_000) });
    expect(await sweepUnusedRegistrations(server.services.clients, server.services.audit, 60)).toBeGreaterThanOrEqual(1);
    await expect(server.services.clients.get(clientId)).rejects.toThrow(/no client/);
    // its registration access token went with it
    expect(await server.storage.db('oidc_payloads').where({ model: 'RegistrationAccessToken' }).whereRaw("payload->>'clientId' = ?", [clientId])).toEqual([]);
    expect((await server.services.clients.get(fixture.clientId)).clientId).toBe(fixture.clientId);
    expect(await auditTypes(server, clientId)).toContain('client.registration_expired');
  });
});

describe('registrations are rate limited per client address', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('embedded', { POSTERN_CLIENT_REGISTRATION: 'open-native', POSTERN_RATE_LIMIT_CLIENT_REGISTRATION: '1/1h' });
  });
  afterAll(() => server?.close());

  it('answers 429 in the endpoint\'s JSON past the limit', async () => {
    const native = { redirect_uris: ['http://127.0.0.1:8000/cb'], token_endpoint_auth_method: 'none' };
    expect((await register(server, native)).status).toBe(201);
    const limited = await register(server, native);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(limited.body.error).toEqual(expect.any(String));
  });
});

describe.each(availableBackends())('open registration for native apps on %s', (backend) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(backend, { POSTERN_CLIENT_REGISTRATION: 'open-native', POSTERN_RATE_LIMIT_CLIENT_REGISTRATION: '1000/1m' });
  });
  afterAll(() => server?.close());

  const native = { client_name: 'CLI tool', redirect_uris: ['http://127.0.0.1:53682/callback'], token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] };

  it('registers a public native client with a loopback or private-use redirect URI, without a token', async () => {
    const loopback = await register(server, native);
    expect(loopback.status).toBe(201);
    expect(loopback.body).toMatchObject({ application_type: 'native', token_endpoint_auth_method: 'none' });
    expect(loopback.body).not.toHaveProperty('client_secret');
    const bound = await register(server, { ...native, dpop_bound_access_tokens: true });
    expect(await server.services.clients.get(bound.body.client_id as string)).toMatchObject({ dpopBoundAccessTokens: true, tokenExchangeAudiences: [] });
    expect(await server.services.clients.get(loopback.body.client_id as string)).toMatchObject({ dynamic: true, type: 'public', pkcePolicy: 'required' });
    const privateUse = await register(server, { ...native, redirect_uris: ['com.example.tool:/callback', 'http://[::1]:8000/cb', 'http://localhost/cb'] });
    expect(privateUse.status).toBe(201);
  });

  it('refuses a web redirect URI, a confidential client, a web application and a custom scheme without a dot', async () => {
    expect((await register(server, { ...native, redirect_uris: [WEB_REDIRECT] })).body.error).toBe('invalid_redirect_uri');
    expect((await register(server, { ...native, redirect_uris: ['http://evil.test/callback'] })).status).toBe(400);
    expect((await register(server, { ...native, redirect_uris: ['myapp:/callback'] })).body.error).toBe('invalid_redirect_uri');
    expect((await register(server, { ...native, token_endpoint_auth_method: 'client_secret_basic' })).body.error).toBe('invalid_client_metadata');
    expect((await register(server, { ...native, application_type: 'web' })).body.error).toBe('invalid_client_metadata');
  });
});
