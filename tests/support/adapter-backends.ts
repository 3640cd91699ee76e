import { randomBytes } from 'node:crypto';
import { beforeAll } from 'vitest';
import { createDatabase, type Database } from '../../src/store/db.ts';
import type { KvStore } from '../../src/store/kv/index.ts';
import { MemoryKv } from '../../src/store/kv/memory-kv.ts';
import { RedisKv } from '../../src/store/kv/redis-kv.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { createPostgresDatabase, deleteRedisPrefix, POSTGRES_URL, REDIS_URL } from './backends.ts';

/**
 * Backend tables for the storage contract suites: each row opens one backend and closes it
 * again, removing whatever it created (a PostgreSQL database, a Redis key prefix).
 * PGlite and memory always run; PostgreSQL and Redis only when TEST_DATABASE_URL / TEST_REDIS_URL are set.
 */
export interface Backend<T> {
  /** the describe title, with the reason when the backend is skipped */
  title: string;
  enabled: boolean;
  open(): Promise<T>;
}

export interface OpenSql {
  db: Database;
  close(): Promise<void>;
}

export interface OpenKv {
  kv: KvStore;
  /** Redis only: the key prefix everything is written under */
  prefix: string | undefined;
  close(): Promise<void>;
}

const needs = (variable: string) => ` (skipped: set ${variable} to run)`;

export async function openPglite(): Promise<OpenSql> {
  const db = createDatabase({ databaseUrl: undefined, dataDir: ':memory:' });
  try {
    await migrateToLatest(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return { db, close: () => db.destroy() };
}

export async function openPostgres(): Promise<OpenSql> {
  const database = await createPostgresDatabase();
  const db = createDatabase({ databaseUrl: database.url, dataDir: ':memory:' });
  const close = async () => {
    await db.destroy();
    await database.drop();
  };
  try {
    await migrateToLatest(db);
  } catch (error) {
    await close();
    throw error;
  }
  return { db, close };
}

export async function openMemoryKv(): Promise<OpenKv> {
  const kv = new MemoryKv();
  return { kv, prefix: undefined, close: () => kv.close() };
}

export async function openRedisKv(): Promise<OpenKv> {
  if (!REDIS_URL) throw new Error('TEST_REDIS_URL is not set');
  const prefix = `postern-test-${randomBytes(6).toString('hex')}:`;
  const kv = new RedisKv(REDIS_URL, prefix);
  const close = async () => {
    await kv.close();
    await deleteRedisPrefix(prefix);
  };
  try {
    await kv.connect();
  } catch (error) {
    await close();
    throw error;
  }
  return { kv, prefix, close };
}

export const SQL_BACKENDS: ReadonlyArray<Backend<OpenSql>> = [
  { title: 'PGlite (in memory)', enabled: true, open: openPglite },
  { title: `PostgreSQL${POSTGRES_URL ? '' : needs('TEST_DATABASE_URL')}`, enabled: Boolean(POSTGRES_URL), open: openPostgres },
];

export const KV_BACKENDS: ReadonlyArray<Backend<OpenKv>> = [
  { title: 'memory KV', enabled: true, open: openMemoryKv },
  { title: `Redis${REDIS_URL ? '' : needs('TEST_REDIS_URL')}`, enabled: Boolean(REDIS_URL), open: openRedisKv },
];

/** Both tiers together, as a deployment runs them. */
export interface TierPair {
  title: string;
  enabled: boolean;
  sql: Backend<OpenSql>;
  kv: Backend<OpenKv>;
}

function pairing(title: string, sql: Backend<OpenSql>, kv: Backend<OpenKv>): TierPair {
  const enabled = sql.enabled && kv.enabled;
  return { title: enabled ? title : `${title}${needs('TEST_DATABASE_URL and TEST_REDIS_URL')}`, enabled, sql, kv };
}

export const TIER_PAIRS: readonly TierPair[] = [
  pairing('embedded (PGlite + memory KV)', SQL_BACKENDS[0]!, KV_BACKENDS[0]!),
  pairing('PostgreSQL + Redis', SQL_BACKENDS[1]!, KV_BACKENDS[1]!),
];

interface Closable {
  close(): Promise<void>;
}

/**
 * Opens each backend at most once per test file (an in-memory PGlite takes seconds to start):
 * `use(backend)` registers a beforeAll in the calling describe and returns an accessor;
 * `closeAll()`, from the file's afterAll, closes everything that was opened.
 */
export class BackendPool {
  readonly #opened = new Map<object, Promise<Closable>>();

  use<T extends Closable>(backend: Backend<T>): () => T {
    let value: T | undefined;
    beforeAll(async () => {
      value = await this.#open(backend);
    });
    return () => {
      if (value === undefined) throw new Error(`${backend.title} did not open`);
      return value;
    };
  }

  #open<T extends Closable>(backend: Backend<T>): Promise<T> {
    const known = this.#opened.get(backend) as Promise<T> | undefined;
    if (known) return known;
    const opening = backend.open();
    this.#opened.set(backend, opening);
    return opening;
  }

  async closeAll(): Promise<void> {
    const opened = [...this.#opened.values()];
    this.#opened.clear();
    // a backend that failed to open has already reported that in its beforeAll
    const results = await Promise.allSettled(opened.map(async (opening) => (await opening.catch(() => undefined))?.close()));
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export const uniqueId = (label = 'id') => `${label}-${randomBytes(9).toString('base64url')}`;
