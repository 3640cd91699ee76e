import { loadConfig } from '../config.ts';
import type { Services } from '../services.ts';

/**
 * Opens the durable tier the server uses (same environment, same migrations), runs `work`, and
 * closes storage whatever happens: embedded PGlite admits one process at a time.
 * With REDIS_URL it opens Redis too: the running servers read grants, sessions and accounts
 * through the shared cache there, and a change made here must reach them at once.
 */
export async function withServices<T>(work: (services: Services) => Promise<T>): Promise<T> {
  const config = loadConfig();
  // loaded on demand so --help and usage errors answer without starting knex, PGlite and argon2
  const { createServices, openStorage } = await import('../services.ts');
  const storage = await openStorage(config);
  try {
    return await work(await createServices(config, storage));
  } finally {
    await storage.close();
  }
}
