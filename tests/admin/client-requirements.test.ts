import * as oidc from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { expectProblem, useAdminServer } from './support.ts';

const API = 'https://ledger.example.test';

describe.each(availableBackends())('admin API: DPoP and PAR requirements of clients on %s', (backend) => {
  const t = useAdminServer(backend);

  beforeAll(async () => {
    expect((await t.call('createApi', 'POST', '/apis', { body: { identifier: API, name: 'Ledger', access: 'open', scopes: [{ scope: 'ledger:read' }] } })).status).toBe(201);
  });

  async function clientCredentials(clientId: string, secret: string, options: oidc.DPoPOptions = {}) {
    const config = await oidc.discovery(new URL(t.server.issuer), clientId, secret, oidc.ClientSecretBasic(secret), { execute: [oidc.allowInsecureRequests] });
    return oidc.clientCredentialsGrant(config, { scope: 'ledger:read', resource: API }, options);
  }

  it('registers a client that must use DPoP and PAR; the engine holds it to DPoP until the requirement is lifted', async () => {
    const created = await t.call('createClient', 'POST', '/clients', {
      body: { name: 'Bound Worker', type: 'confidential', grantTypes: ['client_credentials'], dpopBoundAccessTokens: true, requirePushedAuthorizationRequests: true },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ dpopBoundAccessTokens: true, requirePushedAuthorizationRequests: true });
    const { clientId, clientSecret } = created.body as { clientId: string; clientSecret: string };
    await expect(clientCredentials(clientId, clientSecret)).rejects.toMatchObject({ error: 'invalid_grant' });
    const config = await oidc.discovery(new URL(t.server.issuer), clientId, clientSecret, oidc.ClientSecretBasic(clientSecret), { execute: [oidc.allowInsecureRequests] });
    const bound = await clientCredentials(clientId, clientSecret, { DPoP: oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair()) });
    expect(bound.token_type).toBe('dpop');

    const path = `/clients/${clientId}`;
    const current = await t.call('getClient', 'GET', path);
    const changed = await t.call('updateClient', 'PATCH', path, { body: { dpopBoundAccessTokens: false, requirePushedAuthorizationRequests: false }, headers: { 'if-match': current.headers.get('etag')! } });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ dpopBoundAccessTokens: false, requirePushedAuthorizationRequests: false });
    expect((await clientCredentials(clientId, clientSecret)).token_type).toBe('bearer');
  });

  it('sets and clears the APIs a client may exchange tokens for; refused for a public client', async () => {
    const created = await t.call('createClient', 'POST', '/clients', { body: { name: 'Exchanger', type: 'confidential', grantTypes: ['client_credentials'], tokenExchangeAudiences: [API] } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ tokenExchangeAudiences: [API], grantTypes: ['client_credentials'] });
    const path = `/clients/${created.body.clientId as string}`;
    const cleared = await t.call('updateClient', 'PATCH', path, { body: { tokenExchangeAudiences: [] }, headers: { 'if-match': created.headers.get('etag')! } });
    expect(cleared.body).toMatchObject({ tokenExchangeAudiences: [] });
    expectProblem(await t.call('createClient', 'POST', '/clients', { body: { name: 'SPA', type: 'public', redirectUris: ['http://localhost:9000/cb'], tokenExchangeAudiences: [API] } }), 400, 'invalid_client_metadata');
  });

  it('shows both as false for a client registered without them, and refuses a value that is not a boolean', async () => {
    const created = await t.call('createClient', 'POST', '/clients', { body: { name: 'Plain', type: 'confidential', grantTypes: ['client_credentials'] } });
    expect(created.body).toMatchObject({ dpopBoundAccessTokens: false, requirePushedAuthorizationRequests: false, tokenExchangeAudiences: [] });
    expectProblem(await t.call('createClient', 'POST', '/clients', { body: { name: 'Bad', type: 'confidential', grantTypes: ['client_credentials'], dpopBoundAccessTokens: 'yes' } }), 400);
  });
});
