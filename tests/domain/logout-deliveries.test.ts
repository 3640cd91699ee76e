import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogoutDeliveries, type LogoutDelivery } from '../../src/domain/logout-deliveries.ts';
import { SQL_BACKENDS, type OpenSql } from '../support/adapter-backends.ts';

const notice = (i: number) => ({ clientId: 'app', uri: 'https://app.example.test/logout', sub: `user-${i}`, sid: `sid-${i}`, reason: 'admin' as const });

describe.each(SQL_BACKENDS)('the logout delivery queue on $title', (backend) => {
  let sql: OpenSql;
  let deliveries: LogoutDeliveries;

  beforeAll(async () => {
    if (!backend.enabled) return;
    sql = await backend.open();
    deliveries = new LogoutDeliveries(sql.db);
  });
  afterAll(() => sql?.close());

  it.runIf(backend.enabled)('queues one notice per application and session, however often the session is ended', async () => {
    expect(await deliveries.queue([notice(1), notice(1)])).toBe(1);
    expect(await deliveries.queue([notice(1), notice(2)])).toBe(1);
    // without a sid (a session that had none) nothing is merged
    expect(await deliveries.queue([{ ...notice(3), sid: undefined }, { ...notice(3), sid: undefined }])).toBe(2);
    await sql.db('logout_deliveries').delete();
  });

  it.runIf(backend.enabled)('gives each due delivery to one of many concurrent claims', async () => {
    await deliveries.queue(Array.from({ length: 100 }, (_, i) => notice(i)));
    const claims = await Promise.all(Array.from({ length: 8 }, () => deliveries.claimDue(25, 60_000)));
    const claimed: LogoutDelivery[] = claims.flat();
    expect(claimed).toHaveLength(100);
    expect(new Set(claimed.map((delivery) => delivery.id)).size).toBe(100);
    expect(claimed.every((delivery) => delivery.attempts === 1)).toBe(true);
    // leased: nothing is due again until the lease runs out
    expect(await deliveries.claimDue(25, 60_000)).toEqual([]);
    const [one] = claimed;
    await deliveries.markAttemptFailed(one!.id, 'answered 503', 0);
    expect(await deliveries.claimDue(25, 60_000)).toMatchObject([{ id: one!.id, attempts: 2, lastError: 'answered 503' }]);
    await deliveries.markDelivered(one!.id);
    expect(await deliveries.list({ state: 'delivered' })).toMatchObject([{ id: one!.id, state: 'delivered', lastError: null, nextAttemptAt: null }]);
    expect(await deliveries.counts()).toEqual({ pending: 99, delivered: 1, failed: 0 });
  });
});
