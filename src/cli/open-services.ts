import { loadConfig } from '../config.ts';
import type { Services, Storage } from '../services.ts';

/**
 * Opens the durable tier the server uses (same environment, same migrations, same master key),
 * runs `work`, and closes storage whatever happens: embedded PGlite admits one process at a time.
 * With REDIS_URL it opens Redis too: the running servers read grants, sessions and accounts
 * through the shared cache there, and a change made here must reach them at once.
 */
export async function withStorage<T>(work: (storage: Storage) => Promise<T>): Promise<T> {
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
  const config = loadConfig();
  const { createServices } = await import('../services.ts');
  return withStorage(async (storage) => work(await createServices(config, storage)));
}
