import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knex from 'knex';
import { Redis } from 'ioredis';

/**
 * The storage tiers a suite can run against. The embedded tier (PGlite + memory) always runs;
 * PostgreSQL and Redis run when TEST_DATABASE_URL / TEST_REDIS_URL are set (.ci/run sets both).
 * Each test gets its own database and key prefix, and removes them afterwards.
 */
export type BackendName = 'embedded' | 'postgres+redis';

export interface BackendEnv {
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

export const POSTGRES_URL = process.env.TEST_DATABASE_URL || undefined;
export const REDIS_URL = process.env.TEST_REDIS_URL || undefined;

export function availableBackends(): BackendName[] {
  return POSTGRES_URL && REDIS_URL ? ['embedded', 'postgres+redis'] : ['embedded'];
}

export async function createPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  if (!POSTGRES_URL) throw new Error('TEST_DATABASE_URL is not set');
  const name = `postern_test_${randomBytes(6).toString('hex')}`;
  const admin = knex({ client: 'pg', connection: POSTGRES_URL, pool: { min: 0, max: 1 } });
  await admin.raw(`create database ${name}`);
  await admin.destroy();
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const dropper = knex({ client: 'pg', connection: POSTGRES_URL, pool: { min: 0, max: 1 } });
      await dropper.raw(`drop database if exists ${name} with (force)`);
      await dropper.destroy();
    },
  };
}

export async function deleteRedisPrefix(prefix: string): Promise<void> {
  if (!REDIS_URL) return;
  const redis = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
  await redis.quit();
}

export async function backendEnv(backend: BackendName): Promise<BackendEnv> {
  const keysDir = await mkdtemp(join(tmpdir(), 'postern-keys-'));
  const masterKey = randomBytes(32).toString('base64');
  if (backend === 'embedded') {
    return {
      env: { POSTERN_DATA_DIR: ':memory:', POSTERN_KEYS_DIR: keysDir, POSTERN_MASTER_KEY: masterKey },
      cleanup: () => rm(keysDir, { recursive: true, force: true }),
    };
  }
  const database = await createPostgresDatabase();
  const prefix = `postern-test-${randomBytes(6).toString('hex')}:`;
  return {
    env: {
      DATABASE_URL: database.url,
      REDIS_URL: REDIS_URL!,
      POSTERN_REDIS_PREFIX: prefix,
      POSTERN_KEYS_DIR: keysDir,
      POSTERN_MASTER_KEY: masterKey,
    },
    async cleanup() {
      await deleteRedisPrefix(prefix);
      await database.drop();
      await rm(keysDir, { recursive: true, force: true });
    },
  };
}
