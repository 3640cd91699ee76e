import { loadConfig } from '../config.ts';
import type { Services } from '../services.ts';

/**
 * Opens the durable tier the server uses (same environment, same migrations), runs `work`, and
 * closes storage whatever happens: embedded PGlite admits one process at a time.
 * No Redis: nothing the CLI does touches the ephemeral tier.
 */
export async function withServices<T>(work: (services: Services) => Promise<T>): Promise<T> {
  const config = loadConfig();
  // loaded on demand so --help and usage errors answer without starting knex, PGlite and argon2
  const { createServices, openStorage } = await import('../services.ts');
  const storage = await openStorage(config, { kv: false });
  try {
    return await work(await createServices(config, storage));
  } finally {
    await storage.close();
  }
}
