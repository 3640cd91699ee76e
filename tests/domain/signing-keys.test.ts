import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Conflict, NotFound } from '../../src/domain/errors.ts';
import { AuditLog } from '../../src/domain/audit.ts';
import { KeyRotationNotReady, SigningKeys } from '../../src/domain/signing-keys.ts';
import { RedisKv } from '../../src/store/kv/redis-kv.ts';
import { ProcessCaches } from '../../src/store/process-caches.ts';
import { StorageUnavailable } from '../../src/store/unavailable.ts';
import { redisUnavailable, startOwnRedis } from '../faults/support/own-redis.ts';
import { closeDatabase, createDatabase, type Database } from '../../src/store/db.ts';
import { createEnvelope } from '../../src/store/envelope.ts';
import { BackendPool, SQL_BACKENDS } from '../support/adapter-backends.ts';
import { POSTGRES_URL } from '../support/backends.ts';
import { signingKeysOn } from '../support/signing-keys.ts';

const pool = new BackendPool();
afterAll(() => pool.closeAll());

const envelope = createEnvelope(randomBytes(32));
const LEAD = 360;
const INTERVAL = 90 * 86400;
const KEEP = 3660;

for (const backend of SQL_BACKENDS) {
  describe.runIf(backend.enabled)(`signing key lifecycle on ${backend.title}`, () => {
    const sql = pool.use(backend);
    let db: Database;
    let keys: SigningKeys;

    beforeAll(() => {
      db = sql().db;
    });
    beforeEach(async () => {
      await db('signing_keys').delete();
      await db('audit_events').delete();
      keys = signingKeysOn(db, envelope, { intervalSeconds: INTERVAL, publishLeadSeconds: LEAD, keepPreviousSeconds: KEEP });
    });

    const statuses = async () => Object.fromEntries((await keys.list()).map((key) => [key.kid, key.status]));
    const kidOf = async (status: string) => (await keys.list()).filter((key) => key.status === status).map((key) => key.kid);
    /** Moves a key's timestamps `seconds` into the past, as if that much time had gone by. */
    const age = (kid: string, column: 'created_at' | 'activated_at' | 'deactivated_at', seconds: number) =>
      db('signing_keys').where({ kid }).update({ [column]: db.raw('now() - make_interval(secs => ?)', [seconds]) });
    const auditTypes = async () => (await db('audit_events').orderBy('id').select('type', 'details')).map((row) => ({ type: row.type as string, details: typeof row.details === 'string' ? JSON.parse(row.details) : row.details }));

    it('makes a current and a next key on the first check, publishes both with the current one first, and nothing more the second time', async () => {
      const first = await keys.checkSchedule();
      expect(first.created).toHaveLength(2);
      expect(first.rotated).toBeUndefined();
      const [current] = await kidOf('current');
      const [next] = await kidOf('next');
      expect((await keys.privateJwks()).map((jwk) => jwk.kid)).toEqual([current, next]);
      expect((await keys.privateJwks()).every((jwk) => typeof jwk.d === 'string')).toBe(true);
      expect((await keys.currentActivatedAt())?.getTime()).toBe((await keys.list()).find((key) => key.kid === current)!.activatedAt!.getTime());

      expect(await keys.checkSchedule()).toEqual({ created: [], rotated: undefined, retired: [] });
      expect(await keys.list()).toHaveLength(2);
    });

    it('refuses to rotate to a next key published for less than the lead, changing nothing, and rotates once it has been', async () => {
      await keys.checkSchedule();
      const before = await statuses();
      const [next] = await kidOf('next');
      const refused = await keys.rotate().catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(KeyRotationNotReady);
      expect(refused).toBeInstanceOf(Conflict);
      expect((refused as KeyRotationNotReady).kid).toBe(next);
      expect((refused as KeyRotationNotReady).readyAt.getTime()).toBeGreaterThan(Date.now() + (LEAD - 60) * 1000);
      expect(await statuses()).toEqual(before);

      await age(next!, 'created_at', LEAD + 1);
      const [current] = await kidOf('current');
      const rotated = await keys.rotate();
      expect(rotated).toEqual({ current: next, previous: current, next: expect.any(String) });
      expect(await statuses()).toEqual({ [next!]: 'current', [current!]: 'previous', [rotated.next]: 'next' });
      expect((await keys.privateJwks()).map((jwk) => jwk.kid)).toEqual([next, rotated.next, current]);
      const demoted = (await keys.list()).find((key) => key.kid === current)!;
      expect(demoted.deactivatedAt).toBeInstanceOf(Date);
      expect(await auditTypes()).toEqual([{ type: 'signing_key.rotated', details: { ...rotated, by: 'operator', early: false } }]);
    });

    it('rotates at once with now, and records that it was early', async () => {
      await keys.checkSchedule();
      const [current] = await kidOf('current');
      const rotated = await keys.rotate({ now: true });
      expect(rotated.previous).toBe(current);
      expect(await auditTypes()).toEqual([{ type: 'signing_key.rotated', details: { ...rotated, by: 'operator', early: true } }]);
    });

    it('rotates on schedule only once the current key has signed for the interval and the next one has been published for the lead', async () => {
      await keys.checkSchedule();
      const [current] = await kidOf('current');
      const [next] = await kidOf('next');
      await age(next!, 'created_at', LEAD + 1);
      expect((await keys.checkSchedule()).rotated).toBeUndefined();

      await age(current!, 'activated_at', INTERVAL + 1);
      await age(next!, 'created_at', LEAD - 30);
      expect((await keys.checkSchedule()).rotated).toBeUndefined();

      await age(next!, 'created_at', LEAD + 1);
      const { rotated } = await keys.checkSchedule();
      expect(rotated).toMatchObject({ current: next, previous: current });
      expect(await auditTypes()).toEqual([{ type: 'signing_key.rotated', details: { ...rotated, by: 'schedule', early: false } }]);
      expect((await keys.checkSchedule()).rotated).toBeUndefined();
    });

    it('never rotates on its own when the interval is off', async () => {
      const manual = signingKeysOn(db, envelope, { intervalSeconds: null, publishLeadSeconds: LEAD });
      await manual.checkSchedule();
      const [current] = await kidOf('current');
      const [next] = await kidOf('next');
      await age(current!, 'activated_at', 10 * INTERVAL);
      await age(next!, 'created_at', 10 * INTERVAL);
      expect((await manual.checkSchedule()).rotated).toBeUndefined();
      expect(await kidOf('current')).toEqual([current]);
    });

    it('retires a previous key: it leaves the JWKS, stays in the database, and the change is audited', async () => {
      await keys.checkSchedule();
      const { previous } = await keys.rotate({ now: true });
      await db('audit_events').delete();
      const retired = await keys.retire(previous!);
      expect(retired).toMatchObject({ kid: previous, status: 'retired', retiredAt: expect.any(Date) });
      expect((await keys.privateJwks()).map((jwk) => jwk.kid)).not.toContain(previous);
      expect((await keys.list()).find((key) => key.kid === previous)?.status).toBe('retired');
      expect(await auditTypes()).toEqual([{ type: 'signing_key.retired', details: { kid: previous, was: 'previous', by: 'operator' } }]);
    });

    it('refuses to retire the current key, a retired key or an unknown one', async () => {
      await keys.checkSchedule();
      const [current] = await kidOf('current');
      await expect(keys.retire(current!)).rejects.toThrow(Conflict);
      await expect(keys.retire(current!)).rejects.toThrow(/signs now: rotate first/);
      await expect(keys.retire('no-such-kid')).rejects.toThrow(NotFound);
      const { previous } = await keys.rotate({ now: true });
      await keys.retire(previous!);
      await expect(keys.retire(previous!)).rejects.toThrow(/retired already/);
      expect(await kidOf('current')).toHaveLength(1);
    });

    it('replaces a retired next key with a new one at once', async () => {
      await keys.checkSchedule();
      const [next] = await kidOf('next');
      await keys.retire(next!);
      const [replacement] = await kidOf('next');
      expect(replacement).toBeDefined();
      expect(replacement).not.toBe(next);
    });

    it('retires previous keys on schedule once every token they signed has expired, and not before', async () => {
      await keys.checkSchedule();
      const { previous: older } = await keys.rotate({ now: true });
      const { previous: newer } = await keys.rotate({ now: true });
      await age(older!, 'deactivated_at', KEEP + 1);
      await age(newer!, 'deactivated_at', KEEP - 30);
      await db('audit_events').delete();
      expect((await keys.checkSchedule()).retired).toEqual([older]);
      expect(await statuses()).toMatchObject({ [older!]: 'retired', [newer!]: 'previous' });
      expect(await auditTypes()).toEqual([{ type: 'signing_key.retired', details: { kid: older, was: 'previous', by: 'schedule' } }]);
    });
  });
}

describe.runIf(POSTGRES_URL)('several instances checking the schedule at once (PostgreSQL)', () => {
  it('rotate exactly once', async () => {
    const { createPostgresDatabase } = await import('../support/backends.ts');
    const database = await createPostgresDatabase();
    const { migrateToLatest } = await import('../../src/store/migrate.ts');
    const instances = Array.from({ length: 4 }, () => createDatabase({ databaseUrl: database.url, dataDir: ':memory:' }));
    try {
      await migrateToLatest(instances[0]!);
      const all = instances.map((db) => signingKeysOn(db, envelope, { intervalSeconds: 60, publishLeadSeconds: 1 }));
      await Promise.all(all.map((keys) => keys.checkSchedule()));
      const db = instances[0]!;
      expect(await db('signing_keys').select('status').orderBy('status')).toEqual([{ status: 'current' }, { status: 'next' }]);
      await db('signing_keys').update({ created_at: db.raw("now() - interval '1 hour'"), activated_at: db.raw("now() - interval '1 hour'") });

      // the keys are held locked until every other instance's check waits for them, so that the
      // checks overlap however long each takes to generate its successor key
      const holder = await db.transaction();
      await holder('signing_keys').forUpdate().select('kid');
      const checks = all.slice(1).map((keys) => keys.checkSchedule());
      const waiting = async () =>
        Number((await db.raw("select count(*) as count from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'")).rows[0].count);
      while ((await waiting()) < checks.length) await new Promise((resolve) => setTimeout(resolve, 20));
      await holder.commit();
      const outcomes = await Promise.all(checks);
      expect(outcomes.filter((outcome) => outcome.rotated !== undefined)).toHaveLength(1);
      expect((await db('signing_keys').select('status')).map((row) => row.status as string).sort()).toEqual(['current', 'next', 'previous']);
      expect(await db('audit_events').where({ type: 'signing_key.rotated' }).count({ count: '*' })).toEqual([{ count: '1' }]);
    } finally {
      await Promise.all(instances.map((db) => closeDatabase(db)));
      await database.drop();
    }
  });
});

const noRedis = redisUnavailable();

describe.runIf(!noRedis)(`while the ephemeral tier cannot be reached${noRedis ? ` (skipped: ${noRedis})` : ''}`, () => {
  it('no key moves: rotate and retire fail and change nothing', { timeout: 60_000 }, async () => {
    const redis = await startOwnRedis();
    const db = createDatabase({ databaseUrl: undefined, dataDir: ':memory:' });
    const kv = new RedisKv(redis.url, 'postern-test:', { timeoutMs: 200 });
    try {
      const { migrateToLatest } = await import('../../src/store/migrate.ts');
      await migrateToLatest(db);
      await kv.connect();
      const keys = new SigningKeys({
        db,
        envelope,
        audit: new AuditLog(db),
        processCaches: new ProcessCaches(kv),
        policy: { intervalSeconds: INTERVAL, publishLeadSeconds: LEAD, keepPreviousSeconds: async () => KEEP },
      });
      await keys.checkSchedule();
      await keys.rotate({ now: true });
      const before = await keys.list();
      await redis.kill();
      await expect(keys.rotate({ now: true })).rejects.toThrow(StorageUnavailable);
      await expect(keys.retire(before.find((key) => key.status === 'previous')!.kid)).rejects.toThrow(StorageUnavailable);
      expect(await keys.list()).toEqual(before);
      expect(await db('audit_events').where({ type: 'signing_key.rotated' }).count({ count: '*' })).toEqual([{ count: 1 }]);
    } finally {
      await kv.close();
      await closeDatabase(db);
      await redis.close();
    }
  });
});
