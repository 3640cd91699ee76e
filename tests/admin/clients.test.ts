import * as oidc from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { clientCredentialsToken, expectProblem, useAdminServer } from './support.ts';

const API = 'https://orders.example.test';

describe.each(availableBackends())('admin API: clients on %s', (backend) => {
  const t = useAdminServer(backend);

  beforeAll(async () => {
    const created = await t.call('createApi', 'POST', '/apis', { body: { identifier: API, name: 'Orders', access: 'open', scopes: [{ scope: 'orders:read' }] } });
    expect(created.status).toBe(201);
  });

  const tokenFor = (clientId: string, secret: string) => clientCredentialsToken(t.server, clientId, secret, ['orders:read'], API);

  it('registers a confidential client whose secret works at once, shown in that answer only', async () => {
    const created = await t.call('createClient', 'POST', '/clients', { body: { name: 'Worker', type: 'confidential', grantTypes: ['client_credentials'] } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Worker', type: 'confidential', grantTypes: ['client_credentials'] });
    expect(created.body.clientSecret).toEqual(expect.any(String));
    expect(await tokenFor(created.body.clientId, created.body.clientSecret)).toEqual(expect.any(String));
    const read = await t.call('getClient', 'GET', `/clients/${created.body.clientId}`);
    expect(read.body).not.toHaveProperty('clientSecret');
    expect(read.headers.get('etag')).toBe(created.headers.get('etag'));
  });

  it('registers a device client (RFC 8628 grant type) and gives the grant type to another client', async () => {
    const grant = 'urn:ietf:params:oauth:grant-type:device_code';
    const created = await t.call('createClient', 'POST', '/clients', { body: { name: 'TV', type: 'public', grantTypes: [grant, 'refresh_token'] } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ type: 'public', grantTypes: [grant, 'refresh_token'], redirectUris: [] });
    const web = await t.call('createClient', 'POST', '/clients', { body: { name: 'Web', type: 'confidential', redirectUris: ['http://localhost:9000/cb'] } });
    const path = `/clients/${web.body.clientId}`;
    const changed = await t.call('updateClient', 'PATCH', path, { body: { grantTypes: ['authorization_code', 'refresh_token', grant] }, headers: { 'if-match': web.headers.get('etag')! } });
    expect(changed.status).toBe(200);
    expect(changed.body.grantTypes).toEqual(['authorization_code', 'refresh_token', grant]);
    expectProblem(await t.call('createClient', 'POST', '/clients', { body: { name: 'Bad', type: 'public', grantTypes: ['urn:ietf:params:oauth:grant-type:jwt-bearer'] } }), 400, 'validation_failed');
  });

  it('refuses what the registration rules refuse, and a client_id taken, as problem+json', async () => {
    expectProblem(await t.call('createClient', 'POST', '/clients', { body: { name: 'Bad', type: 'public', grantTypes: ['client_credentials'] } }), 400, 'invalid_client_metadata');
    expectProblem(await t.call('createClient', 'POST', '/clients', { body: { name: 'Web', type: 'public', redirectUris: ['http://evil.example.test/cb'] } }), 400, 'invalid_client_metadata');
    await t.call('createClient', 'POST', '/clients', { body: { name: 'Named', type: 'public', clientId: 'named-app', redirectUris: ['http://localhost:9000/cb'] } });
    expectProblem(await t.call('createClient', 'POST', '/clients', { body: { name: 'Again', type: 'public', clientId: 'named-app', redirectUris: ['http://localhost:9000/cb'] } }), 409, 'conflict');
    expectProblem(await t.call('getClient', 'GET', '/clients/no-such-client'), 404, 'not_found');
  });

  it('changes a registration only with the current ETag: 428 without, 412 when stale; the engine sees the change at once', async () => {
    const { body: created } = await t.call('createClient', 'POST', '/clients', { body: { name: 'Changing', type: 'confidential', grantTypes: ['client_credentials'] } });
    const path = `/clients/${created.clientId}`;
    const first = await t.call('getClient', 'GET', path);
    const etag = first.headers.get('etag')!;

    expectProblem(await t.call('updateClient', 'PATCH', path, { body: { name: 'No base' } }), 428, 'precondition_required');
    expectProblem(await t.call('updateClient', 'PATCH', path, { body: { name: 'Wrong base' }, headers: { 'if-match': '"not-the-etag"' } }), 412, 'precondition_failed');
    expectProblem(await t.call('updateClient', 'PATCH', path, { body: { name: 'Weak' }, headers: { 'if-match': `W/${etag}` } }), 412, 'precondition_failed');

    // two administrators read the same version; the second change is refused, not lost
    const [a, b] = await Promise.all([
      t.call('updateClient', 'PATCH', path, { body: { name: 'By A' }, headers: { 'if-match': etag } }),
      t.call('updateClient', 'PATCH', path, { body: { name: 'By B' }, headers: { 'if-match': etag } }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 412]);
    const winner = a.status === 200 ? a : b;
    expect(winner.headers.get('etag')).not.toBe(etag);
    const now = await t.call('getClient', 'GET', path);
    expect(now.body.name).toBe(winner.body.name);
    expect(now.headers.get('etag')).toBe(winner.headers.get('etag'));

    // the client's cached registration is dropped at once: it can no longer use client_credentials
    expect(await tokenFor(created.clientId, created.clientSecret)).toEqual(expect.any(String));
    const changed = await t.call('updateClient', 'PATCH', path, {
      body: { grantTypes: ['authorization_code'], redirectUris: ['http://localhost:9000/cb'] },
      headers: { 'if-match': now.headers.get('etag')! },
    });
    expect(changed.body).toMatchObject({ grantTypes: ['authorization_code'], redirectUris: ['http://localhost:9000/cb'] });
    await expect(tokenFor(created.clientId, created.clientSecret)).rejects.toBeInstanceOf(oidc.ResponseBodyError);
    // still bound by the rules
    expectProblem(await t.call('updateClient', 'PATCH', path, { body: { redirectUris: [] }, headers: { 'if-match': changed.headers.get('etag')! } }), 400, 'invalid_client_metadata');
  });

  it('shows and sets the PKCE policy and the token endpoint authentication; never nonce_instead for a public client; audited', async () => {
    const { body: created } = await t.call('createClient', 'POST', '/clients', {
      body: { name: 'Post Auth', type: 'confidential', redirectUris: ['http://localhost:9000/cb'], tokenEndpointAuthMethod: 'client_secret_post' },
    });
    expect(created).toMatchObject({ tokenEndpointAuthMethod: 'client_secret_post', pkcePolicy: 'required' });
    const path = `/clients/${created.clientId}`;
    const relaxed = await t.call('updateClient', 'PATCH', path, { body: { pkcePolicy: 'nonce_instead' }, headers: { 'if-match': (await t.call('getClient', 'GET', path)).headers.get('etag')! } });
    expect(relaxed.body).toMatchObject({ pkcePolicy: 'nonce_instead', tokenEndpointAuthMethod: 'client_secret_post' });
    const audited = await t.server.storage.db('audit_events').where({ type: 'client.pkce_policy_changed', client_id: created.clientId });
    expect(audited).toHaveLength(1);
    const { body: spa } = await t.call('createClient', 'POST', '/clients', { body: { name: 'SPA', type: 'public', redirectUris: ['http://localhost:9000/cb'] } });
    expect(spa).toMatchObject({ tokenEndpointAuthMethod: 'none', pkcePolicy: 'required' });
    const spaPath = `/clients/${spa.clientId}`;
    const refused = await t.call('updateClient', 'PATCH', spaPath, { body: { pkcePolicy: 'nonce_instead' }, headers: { 'if-match': (await t.call('getClient', 'GET', spaPath)).headers.get('etag')! } });
    expectProblem(refused, 400, 'invalid_client_metadata');
    expectProblem(await t.call('createClient', 'POST', '/clients', { body: { name: 'SPA 2', type: 'public', redirectUris: ['http://localhost:9000/cb'], pkcePolicy: 'nonce_instead' } }), 400, 'invalid_client_metadata');
  });

  it('rotates a secret: the old one stops working at once, the new one works', async () => {
    const { body: created } = await t.call('createClient', 'POST', '/clients', { body: { name: 'Rotating', type: 'confidential', grantTypes: ['client_credentials'] } });
    const rotated = await t.call('rotateClientSecret', 'POST', `/clients/${created.clientId}/secret`);
    expect(rotated.body.clientSecret).not.toBe(created.clientSecret);
    await expect(tokenFor(created.clientId, created.clientSecret)).rejects.toThrow();
    expect(await tokenFor(created.clientId, rotated.body.clientSecret)).toEqual(expect.any(String));
    const { body: publicClient } = await t.call('createClient', 'POST', '/clients', { body: { name: 'SPA', type: 'public', redirectUris: ['http://localhost:9000/cb'] } });
    expectProblem(await t.call('rotateClientSecret', 'POST', `/clients/${publicClient.clientId}/secret`), 400, 'invalid_client_metadata');
  });

  it('gives and takes roles of a client-credentials client', async () => {
    const { body: created } = await t.call('createClient', 'POST', '/clients', { body: { name: 'Role holder', type: 'confidential', grantTypes: ['client_credentials'] } });
    await t.call('createRole', 'POST', '/roles', { body: { name: 'order-reader', permissions: [{ resourceServer: API, scope: 'orders:read' }] } });
    expect((await t.call('grantClientRole', 'PUT', `/clients/${created.clientId}/roles/order-reader`)).status).toBe(204);
    expect((await t.call('listClientRoles', 'GET', `/clients/${created.clientId}/roles`)).body).toEqual({ roles: [{ name: 'order-reader', permissions: [{ resourceServer: API, scope: 'orders:read' }] }] });
    expect((await t.call('revokeClientRole', 'DELETE', `/clients/${created.clientId}/roles/order-reader`)).status).toBe(204);
    expect((await t.call('listClientRoles', 'GET', `/clients/${created.clientId}/roles`)).body).toEqual({ roles: [] });
    expectProblem(await t.call('grantClientRole', 'PUT', `/clients/${created.clientId}/roles/no-such-role`), 404, 'not_found');
  });

  it('lists clients a page at a time with cursors, each exactly once', async () => {
    for (const name of ['P1', 'P2', 'P3']) await t.call('createClient', 'POST', '/clients', { body: { name, type: 'confidential', grantTypes: ['client_credentials'] } });
    const everything = (await t.call('listClients', 'GET', '/clients?limit=200')).body.items.map((c: { clientId: string }) => c.clientId);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const answer = await t.call('listClients', 'GET', `/clients?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(answer.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...answer.body.items.map((c: { clientId: string }) => c.clientId));
      cursor = answer.body.nextCursor;
      pages += 1;
    } while (cursor);
    expect(seen).toEqual(everything);
    expect(new Set(seen).size).toBe(seen.length);
    expect(pages).toBe(Math.ceil(everything.length / 2));
    expect(everything.length).toBeGreaterThanOrEqual(5);
  });

  it('deletes a client: it cannot get tokens any more; every write is an audit event naming the acting client', async () => {
    const { body: created } = await t.call('createClient', 'POST', '/clients', { body: { name: 'Doomed', type: 'confidential', grantTypes: ['client_credentials'] } });
    expect((await t.call('deleteClient', 'DELETE', `/clients/${created.clientId}`)).status).toBe(204);
    expectProblem(await t.call('getClient', 'GET', `/clients/${created.clientId}`), 404, 'not_found');
    await expect(tokenFor(created.clientId, created.clientSecret)).rejects.toThrow();
    expectProblem(await t.call('deleteClient', 'DELETE', `/clients/${created.clientId}`), 404, 'not_found');

    const events = (await t.call('listAuditEvents', 'GET', `/audit-events?clientId=${created.clientId}`)).body.items;
    expect(events.map((e: { type: string }) => e.type)).toEqual(['client.deleted', 'client.created']);
    for (const event of events) {
      expect(event).toMatchObject({ actor: `client:${t.admin.clientId}`, clientId: created.clientId, details: { via: 'admin_api' }, ip: expect.any(String) });
    }
  });
});
