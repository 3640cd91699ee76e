import knex, { type Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import { guardDatabase } from './database-guard.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { ownerOnlyDirectory } from './owner-only.ts';
import { ConfigError, type Config } from '../config.ts';

export type Database = Knex;

export interface DatabaseTarget {
  databaseUrl: string | undefined;
  /** directory for embedded PGlite, or ':memory:' */
  dataDir: string;
}

export function describeDatabase(target: DatabaseTarget): string {
  if (target.databaseUrl) {
    const url = new URL(target.databaseUrl);
    return `postgres ${url.hostname}:${url.port || 5432}${url.pathname}`;
  }
  return target.dataDir === ':memory:' ? 'embedded PGlite (in memory)' : `embedded PGlite (${target.dataDir})`;
}

const locks = new WeakMap<Database, () => void>();

/** Closes the pool and, for embedded PGlite, releases the data directory. */
export async function closeDatabase(db: Database): Promise<void> {
  try {
    await db.destroy();
  } finally {
    locks.get(db)?.();
    locks.delete(db);
  }
}

// knex would print pool errors (with stacks) to stdout, the JSON log stream; callers get them as rejections
const quiet = { warn() {}, error() {}, deprecate() {}, debug() {} };

export interface DatabaseOptions {
  poolMax?: number;
  /** ms to connect, or to wait for a pooled connection, before failing as unavailable; default 750 */
  timeoutMs?: number;
}

export function createDatabase(target: DatabaseTarget, options: DatabaseOptions = {}): Database {
  if (target.databaseUrl) {
    const timeoutMs = options.timeoutMs ?? 750;
    const db = knex({
      client: 'pg',
      connection: {
        connectionString: target.databaseUrl,
        application_name: 'postern',
        connectionTimeoutMillis: timeoutMs,
        // a connection whose server went silent (no reset, no answer) fails its statement instead of hanging
        query_timeout: Math.max(5000, timeoutMs * 10),
      },
      pool: { min: 0, max: options.poolMax ?? 10 },
      acquireConnectionTimeout: timeoutMs,
      // error messages carry the statement but never its bindings (token ids, hashes, emails)
      compileSqlOnError: false,
      log: quiet,
    });
    guardDatabase(db);
    return db;
  }
  if (target.dataDir === ':memory:') return knex({ client: ClientPgLite, dialect: 'postgres', connection: {}, log: quiet });
  // the directory holds refresh tokens, password hashes and the write-ahead log
  ownerOnlyDirectory(target.dataDir, { recursive: true });
  const release = lockDataDir(target.dataDir);
  const db = knex({ client: ClientPgLite, dialect: 'postgres', connection: { filename: target.dataDir }, log: quiet });
  locks.set(db, () => {
    release();
    try {
      // PGlite creates its files 0666: inside the 0700 directory no one else reaches them, and
      // after a clean stop they are private too
      ownerOnlyDirectory(target.dataDir, { recursive: true });
    } catch {
      // the next start restricts them again, or says why it cannot
    }
  });
  return db;
}

/** Fails with one actionable line when the database cannot be reached. */
export async function assertReachable(db: Database, target: DatabaseTarget): Promise<void> {
  try {
    await db.raw('select 1');
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    const reason = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
    throw new ConfigError(`cannot reach the database (${describeDatabase(target)}): ${reason}`);
  }
}

export function databaseTarget(config: Pick<Config, 'databaseUrl' | 'dataDir'>): DatabaseTarget {
  return { databaseUrl: config.databaseUrl, dataDir: config.dataDir };
}

/**
 * Rows removed by a knex `delete()`. The pg dialect answers a number; knex-pglite (0.14) answers
 * the driver's result object, whose `rowCount` carries the same figure.
 */
export function deletedRows(result: unknown): number {
  if (typeof result === 'number') return result;
  const count = (result as { rowCount?: unknown } | null)?.rowCount;
  return typeof count === 'number' ? count : 0;
}
