import { expect, it } from 'vitest';
import { purgeExpiredPayloads, SqlModelStore } from '../../src/oidc/adapter/sql-model-store.ts';
import type { Database } from '../../src/store/db.ts';
import { uniqueId } from '../support/adapter-backends.ts';

/** What only the durable tier has: a table other code reads, and a sweep of expired rows. */
export function sqlTierCases(db: () => Database): void {
  const rowIds = async (ids: string[]) => (await db()('oidc_payloads').whereIn('id', ids).pluck('id')).sort();

  it('purgeExpiredPayloads deletes expired rows, in batches, and keeps live ones', async () => {
    const store = new SqlModelStore(db(), 'RefreshToken');
    const expired = Array.from({ length: 5 }, () => uniqueId('expired'));
    const live = [uniqueId('live'), uniqueId('live')];
    const forever = uniqueId('forever');
    for (const id of [...expired, ...live]) await store.upsert(id, { accountId: 'a', grantId: uniqueId('grant') }, 60);
    await store.upsert(forever, { accountId: 'a' });
    await db()('oidc_payloads').whereIn('id', expired).update({ expires_at: new Date(Date.now() - 60_000) });
    // the contract's expiry case may have left expired rows of its own
    const [{ count }] = (await db()('oidc_payloads').where('expires_at', '<', db().fn.now()).count({ count: '*' })) as [{ count: string | number }];

    expect(await purgeExpiredPayloads(db(), 2)).toBe(Number(count));
    expect(await rowIds(expired)).toEqual([]);
    expect(await rowIds([...live, forever])).toEqual([...live, forever].sort());
    expect(await purgeExpiredPayloads(db(), 2)).toBe(0);
  });

  it('stores plain strings as they are, so payload->> queries (account and client deletion) still match', async () => {
    const id = uniqueId();
    await new SqlModelStore(db(), 'Grant').upsert(id, { accountId: 'account-ü', clientId: 'client-1', nonce: 'a\u0000b' }, 60);
    const row = (await db()('oidc_payloads')
      .where({ model: 'Grant', id })
      .first(db().raw("payload->>'accountId' as account_id"), db().raw("payload->>'clientId' as client_id"))) as {
      account_id: string;
      client_id: string;
    };
    expect(row).toEqual({ account_id: 'account-ü', client_id: 'client-1' });
  });

  it('keeps the grant id, uid and user code in indexed columns', async () => {
    const id = uniqueId();
    const payload = { grantId: uniqueId('grant'), uid: uniqueId('uid'), userCode: uniqueId('CODE') };
    await new SqlModelStore(db(), 'Session').upsert(id, payload, 60);
    const row = await db()('oidc_payloads').where({ model: 'Session', id }).first('grant_id', 'uid', 'user_code');
    expect(row).toEqual({ grant_id: payload.grantId, uid: payload.uid, user_code: payload.userCode });
  });
}
