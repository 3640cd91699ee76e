import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryOutcomeEvent } from '../../src/backchannel/worker.ts';
import { availableBackends } from '../support/backends.ts';
import { LogoutListener } from '../support/logout-listener.ts';
import { startTestCluster, type TestCluster } from '../support/test-server.ts';

/**
 * Two instances on one PostgreSQL work one queue of back-channel logout deliveries: each attempt
 * is made by one of them (FOR UPDATE SKIP LOCKED), so an application hears each logout once.
 */
const enabled = availableBackends().includes('postgres+redis');

describe.runIf(enabled)('back-channel logout deliveries worked by two instances', () => {
  let cluster: TestCluster;
  let listener: LogoutListener;
  const outcomes: Array<DeliveryOutcomeEvent & { instance: number }> = [];

  beforeAll(async () => {
    cluster = await startTestCluster('postgres+redis', 2, {
      POSTERN_LOGOUT_POLL_INTERVAL: '1',
      // no attempt may time out on a loaded machine: a retry of a token the listener took would be a second request
      POSTERN_LOGOUT_TIMEOUT: '60',
    });
    cluster.servers.forEach((server, instance) => server.logoutWorker.on('outcome', (event) => outcomes.push({ ...event, instance })));
  });
  afterAll(async () => {
    await listener?.down();
    await cluster?.close();
  });

  it('delivers every queued notice exactly once', async () => {
    const [first, second] = cluster.servers as [(typeof cluster.servers)[0], (typeof cluster.servers)[0]];
    const { jwks_uri: jwksUri } = (await (await fetch(`${first.issuer}/.well-known/openid-configuration`)).json()) as { jwks_uri: string };
    listener = await LogoutListener.start({ issuer: first.issuer, jwksUri, clientId: 'shared-app' });
    // answers slowly, so that the instances' batches overlap in time
    listener.delayMs = 100;
    const notices = Array.from({ length: 60 }, (_, i) => ({ clientId: 'shared-app', uri: listener.uri, sub: `user-${i}`, sid: `sid-${i}`, reason: 'admin' as const }));
    // queued through both instances, half each
    await first.services.logoutDeliveries.queue(notices.slice(0, 30));
    await second.services.logoutDeliveries.queue(notices.slice(30));

    await expect.poll(() => listener.accepted.length, { timeout: 90_000, interval: 100 }).toBe(60);
    expect(listener.rejected).toEqual([]);
    expect(listener.requests).toBe(60);
    expect(new Set(listener.accepted.map((token) => token.sub)).size).toBe(60);
    await expect.poll(() => first.services.logoutDeliveries.counts(), { timeout: 10_000 }).toEqual({ pending: 0, delivered: 60, failed: 0 });
    await expect.poll(() => outcomes.filter((event) => event.outcome === 'delivered').length, { timeout: 10_000 }).toBe(60);
    expect(outcomes.every((event) => event.attempts === 1)).toBe(true);
  });
});
