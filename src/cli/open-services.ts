import { AsyncLocalStorage } from 'node:async_hooks';
import { loadConfig, type Config } from '../config.ts';
import type { Services, Storage } from '../services.ts';
import type { Database, DatabaseTarget } from '../store/db.ts';

/** A running server's storage and services, lent to the commands it runs for its command socket. */
export interface CommandHost {
  config: Readonly<Config>;
  storage: Storage;
  services: Services;
}

const hosts = new AsyncLocalStorage<CommandHost>();

/**
 * Runs `work` (a command) on the host's storage and services instead of opening its own: its
 * changes go through the server's caches, and nothing it uses is closed when it ends.
 */
export function runOnHost<T>(host: CommandHost, work: () => Promise<T>): Promise<T> {
  return hosts.run(host, work);
}

/**
 * Opens the durable tier the server uses (same environment, same migrations, same master key),
 * runs `work`, and closes storage whatever happens: embedded PGlite admits one process at a time.
 * With REDIS_URL it opens Redis too: the running servers read grants, sessions and accounts
 * through the shared cache there, and a change made here must reach them at once.
 */
export async function withStorage<T>(work: (storage: Storage) => Promise<T>): Promise<T> {
  const host = hosts.getStore();
  if (host) return work(host.storage);
  const config = loadConfig();
  // loaded on demand so --help and usage errors answer without starting knex and PGlite
  const { openStorage } = await import('../services.ts');
  const storage = await openStorage(config);
  try {
    return await work(storage);
  } finally {
    await storage.close();
  }
}

/** `withStorage` with the domain services the server builds on it. */
export async function withServices<T>(work: (services: Services) => Promise<T>): Promise<T> {
  const host = hosts.getStore();
  if (host) return work(host.services);
  const config = loadConfig();
  const { createServices } = await import('../services.ts');
  return withStorage(async (storage) => work(await createServices(config, storage)));
}

/** The database alone, reachable but not migrated yet, and without the master key. */
export async function withDatabase<T>(work: (db: Database, target: DatabaseTarget) => Promise<T>): Promise<T> {
  const host = hosts.getStore();
  const { assertReachable, closeDatabase, createDatabase, databaseTarget } = await import('../store/db.ts');
  const target = databaseTarget(host?.config ?? loadConfig());
  if (host) return work(host.storage.db, target);
  const db = createDatabase(target);
  try {
    await assertReachable(db, target);
    return await work(db, target);
  } finally {
    await closeDatabase(db);
  }
}
