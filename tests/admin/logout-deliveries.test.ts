import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { expectProblem, useAdminServer } from './support.ts';

/** Nothing listens on port 1 of loopback: every delivery there fails at once. */
const DEAD_URI = 'http://127.0.0.1:1/backchannel-logout';

describe.each(availableBackends())('admin API: back-channel logout on %s', (backend) => {
  const t = useAdminServer(backend, { POSTERN_LOGOUT_MAX_ATTEMPTS: '1', POSTERN_LOGOUT_POLL_INTERVAL: '1', POSTERN_LOGOUT_TIMEOUT: '1' });

  it('registers, shows and removes a client\'s back-channel logout URI', async () => {
    const created = await t.call('createClient', 'POST', '/clients', {
      body: { name: 'Told App', type: 'confidential', redirectUris: ['http://localhost:9000/cb'], backchannelLogoutUri: DEAD_URI, backchannelLogoutSessionRequired: true },
    });
    expect(created.body).toMatchObject({ backchannelLogoutUri: DEAD_URI, backchannelLogoutSessionRequired: true });
    const path = `/clients/${created.body.clientId}`;
    const removed = await t.call('updateClient', 'PATCH', path, { body: { backchannelLogoutUri: null }, headers: { 'if-match': created.headers.get('etag')! } });
    expect(removed.body).toMatchObject({ backchannelLogoutUri: null, backchannelLogoutSessionRequired: false });
    expectProblem(await t.call('updateClient', 'PATCH', path, { body: { backchannelLogoutUri: 'http://app.example.test/bc' }, headers: { 'if-match': removed.headers.get('etag')! } }), 400, 'invalid_client_metadata');
  });

  it('lists deliveries with their state and counts, and starts failed ones again, audited', async () => {
    const { body: client } = await t.call('createClient', 'POST', '/clients', { body: { name: 'Down App', type: 'confidential', redirectUris: ['http://localhost:9000/cb'], backchannelLogoutUri: DEAD_URI } });
    const userId = randomUUID();
    await t.server.services.logoutDeliveries.queue([{ clientId: client.clientId, uri: DEAD_URI, sub: userId, sid: randomUUID(), reason: 'admin' }]);
    // the server's worker makes the one allowed attempt, which fails
    await expect.poll(async () => (await t.call('listLogoutDeliveries', 'GET', `/logout-deliveries?clientId=${client.clientId}`)).body.items[0]?.state, { timeout: 20_000 }).toBe('failed');
    const listed = await t.call('listLogoutDeliveries', 'GET', `/logout-deliveries?state=failed&userId=${userId}`);
    expect(listed.body.items).toEqual([expect.objectContaining({ clientId: client.clientId, userId, reason: 'admin', state: 'failed', attempts: 1, lastError: expect.any(String) })]);
    expect(listed.body.counts.failed).toBeGreaterThanOrEqual(1);
    const retried = await t.call('retryLogoutDeliveries', 'POST', `/logout-deliveries/retry?clientId=${client.clientId}`);
    expect(retried.body).toEqual({ restarted: 1 });
    const audited = await t.server.storage.db('audit_events').where({ type: 'logout.retried', client_id: client.clientId });
    expect(audited.map((event: { actor: string }) => event.actor)).toEqual([`client:${t.admin.clientId}`]);
    expectProblem(await t.call('listLogoutDeliveries', 'GET', '/logout-deliveries?state=lost'), 400, 'validation_failed');
  });
});
