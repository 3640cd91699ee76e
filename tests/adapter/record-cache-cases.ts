import { expect, it } from 'vitest';
import { Accounts } from '../../src/domain/accounts.ts';
import type { PasswordHasher } from '../../src/domain/passwords.ts';
import { CachedSqlModelStore } from '../../src/oidc/adapter/cached-sql-model-store.ts';
import { SqlModelStore } from '../../src/oidc/adapter/sql-model-store.ts';
import type { Database } from '../../src/store/db.ts';
import type { KvStore } from '../../src/store/kv/index.ts';
import { ReadThroughCache } from '../../src/store/read-through-cache.ts';
import { RecordCache } from '../../src/store/record-cache.ts';
import { sleep, uniqueId } from '../support/adapter-backends.ts';

const HOLD = 1;
const nowSeconds = () => Math.floor(Date.now() / 1000);

// hashing is not what these cases are about
const plainHasher: PasswordHasher = {
  hash: async (password) => `plain:${password}`,
  verify: async (hash, password) => hash === `plain:${password}`,
  verifyDummy: async () => false,
};

/**
 * The shared cache in front of the durable tier, seen from two server instances that share one
 * database and one KV store: what one instance changes or revokes, the other sees at once.
 */
export function recordCacheCases(tiers: () => { db: Database; kv: KvStore }): void {
  const instance = (ttlSeconds = 300) => {
    const { db, kv } = tiers();
    const records = new RecordCache(kv, ttlSeconds, HOLD);
    return {
      records,
      store: (model: string) => new CachedSqlModelStore(new SqlModelStore(db, model), records, model),
      accounts: new Accounts(db, plainHasher, records),
    };
  };
  /** Removes the row behind every cache's back: a later read that still answers came from the cache. */
  const deleteRow = (model: string, id: string) => tiers().db('oidc_payloads').where({ model, id }).delete();
  const grant = (extra: Record<string, unknown> = {}) => ({ accountId: uniqueId('acct'), clientId: 'client-1', exp: nowSeconds() + 600, ...extra });

  it('a record read once is served from the cache afterwards', async () => {
    const a = instance();
    const id = uniqueId('grant');
    await a.store('Grant').upsert(id, grant(), 600);
    await sleep(HOLD * 1000 + 100); // the writer's mark keeps readers on the database for HOLD seconds
    expect(await a.store('Grant').find(id)).toBeDefined();
    await deleteRow('Grant', id);
    expect(await a.store('Grant').find(id)).toMatchObject({ clientId: 'client-1' });
  });

  it('a grant destroyed by one instance is gone for another that had it cached', async () => {
    const [a, b] = [instance(), instance()];
    const id = uniqueId('grant');
    await a.store('Grant').upsert(id, grant(), 600);
    await sleep(HOLD * 1000 + 100);
    expect(await a.store('Grant').find(id)).toBeDefined();
    await b.store('Grant').destroy(id);
    expect(await a.store('Grant').find(id)).toBeUndefined();
  });

  it('a grant revoked by grant id is gone for another instance at once', async () => {
    const [a, b] = [instance(), instance()];
    const id = uniqueId('grant');
    await a.store('Grant').upsert(id, grant({ grantId: id }), 600);
    await sleep(HOLD * 1000 + 100);
    expect(await a.store('Grant').find(id)).toBeDefined();
    await b.store('Grant').revokeByGrantId(id);
    expect(await a.store('Grant').find(id)).toBeUndefined();
  });

  it('a change written by one instance is what another reads next', async () => {
    const [a, b] = [instance(), instance()];
    const id = uniqueId('grant');
    await a.store('Grant').upsert(id, grant({ scope: 'openid' }), 600);
    await sleep(HOLD * 1000 + 100);
    expect(await a.store('Grant').find(id)).toMatchObject({ scope: 'openid' });
    await b.store('Grant').upsert(id, grant({ scope: 'openid email' }), 600);
    expect(await a.store('Grant').find(id)).toMatchObject({ scope: 'openid email' });
  });

  it('a session looked up by uid is gone once another instance destroys it by id', async () => {
    const [a, b] = [instance(), instance()];
    const [id, uid] = [uniqueId('sess'), uniqueId('uid')];
    await a.store('Session').upsert(id, { uid, accountId: uniqueId('acct'), exp: nowSeconds() + 600 }, 600);
    await sleep(HOLD * 1000 + 100);
    expect(await a.store('Session').findByUid(uid)).toMatchObject({ uid });
    await b.store('Session').destroy(id);
    expect(await a.store('Session').findByUid(uid)).toBeUndefined();
    expect(await a.store('Session').find(id)).toBeUndefined();
  });

  it('a cached record stops being served when its row expires', async () => {
    const a = instance();
    const id = uniqueId('grant');
    await a.store('Grant').upsert(id, grant(), HOLD + 2);
    await sleep(HOLD * 1000 + 100);
    expect(await a.store('Grant').find(id)).toBeDefined();
    await sleep(2000);
    expect(await a.store('Grant').find(id)).toBeUndefined();
  });

  it('a reader that read the row before a write cannot put the old row back', async () => {
    const { kv } = tiers();
    const cache = new ReadThroughCache<string>(kv, uniqueId('race'), 300, HOLD);
    let release!: () => void;
    const readerGotOldRow = new Promise<void>((resolve) => (release = resolve));
    // the slow reader's database read returns the old value after the writer has finished
    const slowRead = cache.get('x', async () => {
      await readerGotOldRow;
      return 'old';
    });
    await cache.invalidate(['x']); // the writer: database write done, entry marked
    release();
    expect(await slowRead).toBe('old');
    expect(await cache.get('x', async () => 'new')).toBe('new');
    await sleep(50);
    expect(await cache.get('x', async () => 'newer')).toBe('newer');
  });

  it('with a lifetime of 0 nothing is cached', async () => {
    const { kv } = tiers();
    const a = instance(0);
    const id = uniqueId('grant');
    await a.store('Grant').upsert(id, grant(), 600);
    expect(await a.store('Grant').find(id)).toBeDefined();
    expect(await kv.get(`cache:Grant:${id}`)).toBeUndefined();
    await deleteRow('Grant', id);
    expect(await a.store('Grant').find(id)).toBeUndefined();
  });

  it('accounts: cached without the password hash; a password change and a deletion reach the other instance', async () => {
    const { kv } = tiers();
    const [a, b] = [instance(), instance()];
    const account = await a.accounts.create({ username: uniqueId('user') }, 'correct horse battery');
    const cachedGrant = uniqueId('grant');
    await a.store('Grant').upsert(cachedGrant, grant({ accountId: account.id }), 600);
    await sleep(HOLD * 1000 + 100);
    expect(await a.accounts.findById(account.id)).toMatchObject({ id: account.id, hasPassword: true });
    expect(await a.store('Grant').find(cachedGrant)).toBeDefined();
    const cached = await kv.get(`cache:Account:${account.id}`);
    expect(cached).toContain(account.id);
    expect(cached).not.toContain('plain:');

    const before = (await a.accounts.findById(account.id))!.updatedAt.getTime();
    await sleep(20);
    await b.accounts.setPassword(account.id, 'another long passphrase');
    expect((await a.accounts.findById(account.id))!.updatedAt.getTime()).toBeGreaterThan(before);

    await b.accounts.delete(account.id);
    expect(await a.accounts.findById(account.id)).toBeUndefined();
    expect(await a.store('Grant').find(cachedGrant)).toBeUndefined();
  });
}
