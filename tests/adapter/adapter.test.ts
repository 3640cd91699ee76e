import { afterAll, describe } from 'vitest';
import { KvModelStore } from '../../src/oidc/adapter/kv-model-store.ts';
import { CachedSqlModelStore } from '../../src/oidc/adapter/cached-sql-model-store.ts';
import { SqlModelStore } from '../../src/oidc/adapter/sql-model-store.ts';
import { RecordCache } from '../../src/store/record-cache.ts';
import { BackendPool, KV_BACKENDS, SQL_BACKENDS, TIER_PAIRS } from '../support/adapter-backends.ts';
import { adapterContract } from './adapter-contract.ts';
import { factoryCases } from './factory-cases.ts';
import { recordCacheCases } from './record-cache-cases.ts';
import { sqlTierCases } from './sql-tier-cases.ts';

// One Adapter contract, every backend: PGlite and memory always; PostgreSQL and Redis when
// TEST_DATABASE_URL / TEST_REDIS_URL are set (the title says why a backend is skipped).
// One file, so each backend opens once and the factory cases reuse it.
const pool = new BackendPool();
afterAll(() => pool.closeAll());

for (const backend of SQL_BACKENDS) {
  describe.runIf(backend.enabled)(`SqlModelStore on ${backend.title}`, () => {
    const sql = pool.use(backend);
    adapterContract((model) => new SqlModelStore(sql().db, model));
    describe('durable tier only', () => sqlTierCases(() => sql().db));
  });
}

for (const backend of KV_BACKENDS) {
  describe.runIf(backend.enabled)(`KvModelStore on ${backend.title}`, () => {
    const kv = pool.use(backend);
    adapterContract((model) => new KvModelStore(kv().kv, model));
  });
}

for (const pair of TIER_PAIRS) {
  describe.runIf(pair.enabled)(`createAdapterFactory on ${pair.title}`, () => {
    const [sql, kv] = [pool.use(pair.sql), pool.use(pair.kv)];
    factoryCases(() => ({ db: sql().db, kv: kv().kv }));
  });

  describe.runIf(pair.enabled)(`CachedSqlModelStore on ${pair.title}`, () => {
    const [sql, kv] = [pool.use(pair.sql), pool.use(pair.kv)];
    adapterContract((model) => new CachedSqlModelStore(new SqlModelStore(sql().db, model), new RecordCache(kv().kv, 300), model));
    describe('shared cache', () => recordCacheCases(() => ({ db: sql().db, kv: kv().kv })));
  });
}
