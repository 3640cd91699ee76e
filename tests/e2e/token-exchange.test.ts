import { createHmac } from 'node:crypto';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidClientMetadata } from '../../src/domain/errors.ts';
import { availableBackends } from '../support/backends.ts';
import { dpopProof, proofKey, thumbprintOf } from '../support/dpop.ts';
import { API, REDIRECT_URI, signInAndExchange, useSeededServer } from '../support/relying-party.ts';

const ORDERS = 'https://orders.example.test';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';

interface Caller {
  clientId: string;
  clientSecret: string;
}

describe.each(availableBackends())('token exchange (RFC 8693) on %s', (backend) => {
  const t = useSeededServer(backend);
  /** the Example API's own client: it may exchange for the orders API */
  let api: Caller;
  /** allowed the orders API too, but not the Example API's introspector: tokens are never sent to it */
  let bystander: Caller;
  /** a client that may not exchange at all */
  let plain: Caller;

  async function register(name: string, tokenExchangeAudiences?: string[]): Promise<Caller> {
    const { client, clientSecret } = await t.server.services.clients.create({ name, type: 'confidential', grantTypes: ['client_credentials'], tokenExchangeAudiences });
    return { clientId: client.clientId, clientSecret: clientSecret! };
  }

  beforeAll(async () => {
    await t.server.services.resourceServers.create({ identifier: ORDERS, name: 'Orders', access: 'open', scopes: [{ scope: 'read' }, { scope: 'write' }] });
    api = await register('Example API', [ORDERS]);
    bystander = await register('Bystander', [ORDERS]);
    plain = await register('Plain');
    await t.server.services.resourceServers.setIntrospectors(API, [api.clientId]);
  });

  async function exchange(caller: Caller, form: Record<string, string>, headers: Record<string, string> = {}) {
    const response = await fetch(new URL('/token', t.server.issuer), {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${caller.clientId}:${caller.clientSecret}`).toString('base64')}`, ...headers },
      // a parameter given as '' is left out
      body: new URLSearchParams(Object.entries({ grant_type: TOKEN_EXCHANGE, subject_token_type: ACCESS_TOKEN, resource: ORDERS, ...form }).filter(([, value]) => value !== '')),
    });
    return { status: response.status, nonce: response.headers.get('dpop-nonce'), body: (await response.json()) as Record<string, unknown> };
  }

  async function usersToken(scope = 'openid read', options: oidc.DPoPOptions = {}): Promise<string> {
    const { tokens } = await signInAndExchange(t.server, t.config, t.fixture, { scope }, undefined, options);
    return tokens.access_token;
  }

  it('advertises the grant type', () => {
    expect(t.config.serverMetadata().grant_types_supported).toContain(TOKEN_EXCHANGE);
  });

  it("exchanges the user's token for one to the other API: its audience only, the same user, act naming the API, no longer lived", async () => {
    const subject = await usersToken();
    const answer = await exchange(api, { subject_token: subject });
    expect(answer).toMatchObject({ status: 200, body: { issued_token_type: ACCESS_TOKEN, token_type: 'Bearer', scope: 'read' } });
    const { payload } = await jwtVerify(answer.body.access_token as string, createRemoteJWKSet(new URL('/jwks', t.server.issuer)), { issuer: t.server.issuer, audience: ORDERS, typ: 'at+jwt' });
    expect(payload).toMatchObject({ sub: t.fixture.accountId, client_id: api.clientId, scope: 'read', act: { sub: api.clientId } });
    expect(payload.aud).toBe(ORDERS);
    expect(payload.exp!).toBeLessThanOrEqual(decodeJwt(subject).exp!);
    const config = await oidc.discovery(new URL(t.server.issuer), api.clientId, api.clientSecret, oidc.ClientSecretBasic(api.clientSecret), { execute: [oidc.allowInsecureRequests] });
    expect(await oidc.tokenIntrospection(config, answer.body.access_token as string)).toMatchObject({ active: true, sub: t.fixture.accountId, aud: ORDERS, act: { sub: api.clientId } });
  });

  it('takes audience for resource, and a narrower scope', async () => {
    const subject = await usersToken('openid read write');
    const answer = await exchange(api, { subject_token: subject, resource: '', audience: ORDERS, scope: 'write' });
    expect(answer).toMatchObject({ status: 200, body: { scope: 'write' } });
    expect(decodeJwt(answer.body.access_token as string)).toMatchObject({ aud: ORDERS, scope: 'write' });
    expect(await exchange(api, { subject_token: subject, audience: API })).toMatchObject({ status: 400, body: { error: 'invalid_target' } });
    expect(await exchange(api, { subject_token: subject, audience: API, resource: ORDERS })).toMatchObject({ status: 400, body: { error: 'invalid_target' } });
    expect(await exchange(api, { subject_token: subject, resource: '' })).toMatchObject({ status: 400, body: { error: 'invalid_target' } });
  });

  it('refuses a client not allowed to exchange, and an API the client is not allowed', async () => {
    const subject = await usersToken();
    expect(await exchange(plain, { subject_token: subject })).toMatchObject({ status: 400, body: { error: 'invalid_request', error_description: 'requested grant type is not allowed for this client' } });
    expect(await exchange(api, { subject_token: subject, resource: API })).toMatchObject({ status: 400, body: { error: 'invalid_target' } });
    expect(await exchange(api, { subject_token: subject, resource: 'https://unknown.example.test' })).toMatchObject({ status: 400, body: { error: 'invalid_target' } });
    // the token was sent to the Example API, not to this client
    expect(await exchange(bystander, { subject_token: subject })).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('refuses an invalid, expired or revoked subject token', async () => {
    expect(await exchange(api, { subject_token: 'not-a-token' })).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    const forged = (await usersToken()).split('.').map((part, i) => (i === 2 ? part.slice(0, -4) + 'AAAA' : part)).join('.');
    expect(await exchange(api, { subject_token: forged })).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });

    const expiring = await usersToken();
    const shadowId = createHmac('sha256', t.server.storage.envelope.derive('jwt-shadow-id')).update(decodeJwt(expiring).jti!).digest('base64url');
    const adapter = t.server.provider.AccessToken.adapter;
    const stored = await adapter.find(shadowId);
    expect(stored).toBeDefined();
    await adapter.upsert(shadowId, { ...stored!, exp: Math.floor(Date.now() / 1000) - 1 }, 60);
    expect(await exchange(api, { subject_token: expiring })).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });

    const revoked = await usersToken();
    await oidc.tokenRevocation(t.config, revoked);
    expect(await exchange(api, { subject_token: revoked })).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it("refuses a scope broader than the subject token's, and one the other API does not have", async () => {
    const subject = await usersToken();
    expect(await exchange(api, { subject_token: subject, scope: 'read write' })).toMatchObject({ status: 400, body: { error: 'invalid_scope' } });
    expect(await exchange(api, { subject_token: subject, scope: 'openid' })).toMatchObject({ status: 400, body: { error: 'invalid_scope' } });
  });

  it('refuses what it does not support: another token type, actor tokens', async () => {
    const subject = await usersToken();
    expect(await exchange(api, { subject_token: subject, subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' })).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(await exchange(api, { subject_token: subject, actor_token: subject, actor_token_type: ACCESS_TOKEN })).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(await exchange(api, { subject_token: subject, requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' })).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
  });

  it('refuses a DPoP-bound subject token presented without a proof of its key', async () => {
    const subject = await usersToken('openid read', { DPoP: oidc.getDPoPHandle(t.config, await oidc.randomDPoPKeyPair()) });
    expect(decodeJwt(subject).cnf).toBeDefined();
    expect(await exchange(api, { subject_token: subject })).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    // the API's own key proves nothing about the user's client's
    const key = await proofKey();
    const htu = `${t.server.issuer}/token`;
    const nonceAnswer = await exchange(api, { subject_token: subject }, { dpop: await dpopProof(key, 'POST', htu) });
    expect(nonceAnswer).toMatchObject({ status: 400, body: { error: 'use_dpop_nonce' } });
    expect(await exchange(api, { subject_token: subject }, { dpop: await dpopProof(key, 'POST', htu, { nonce: nonceAnswer.nonce! }) })).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    // with a proof, an exchange of an unbound token gives a token bound to the API's key
    const bound = await exchange(api, { subject_token: await usersToken() }, { dpop: await dpopProof(key, 'POST', htu, { nonce: nonceAnswer.nonce! }) });
    expect(bound).toMatchObject({ status: 200, body: { token_type: 'DPoP' } });
    expect(decodeJwt(bound.body.access_token as string).cnf).toEqual({ jkt: await thumbprintOf(key) });
  });

  it('refuses exchange audiences for a public client', async () => {
    await expect(t.server.services.clients.create({ name: 'SPA', type: 'public', redirectUris: [REDIRECT_URI], tokenExchangeAudiences: [ORDERS] })).rejects.toBeInstanceOf(InvalidClientMetadata);
  });

  it('lets an operator lift the permission: the client is refused from then on', async () => {
    const lifted = await register('Lifted', [ORDERS]);
    await t.server.services.resourceServers.setIntrospectors(API, [api.clientId, lifted.clientId]);
    const subject = await usersToken();
    expect(await exchange(lifted, { subject_token: subject })).toMatchObject({ status: 200 });
    await t.server.services.clients.update(lifted.clientId, { tokenExchangeAudiences: [] });
    expect(await exchange(lifted, { subject_token: subject })).toMatchObject({ status: 400, body: { error: 'invalid_request', error_description: 'requested grant type is not allowed for this client' } });
  });
});
