import { loadConfig } from '../config.ts';
import type { Services, Storage } from '../services.ts';

/**
 * Opens the durable tier the server uses (same environment, same migrations, same master key),
 * runs `work`, and closes storage whatever happens: embedded PGlite admits one process at a time.
 * No Redis: nothing the CLI does touches the ephemeral tier.
 */
export async function withStorage<T>(work: (storage: Storage) => Promise<T>): Promise<T> {
  const config = loadConfig();
  // loaded on demand so --help and usage errors answer without starting knex and PGlite
  const { openStorage } = await import('../services.ts');
  const storage = await openStorage(config, { kv: false });
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
