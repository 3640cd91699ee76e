import { POSTGRES_URL, createPostgresDatabase } from '../support/backends.ts';

/**
 * The durable tier for a suite whose ephemeral tier is a Redis of its own: a PostgreSQL database
 * of its own when TEST_DATABASE_URL is set, else the embedded PGlite of the test server.
 */
export async function ownDatabase(): Promise<{ env: Record<string, string>; drop(): Promise<void> }> {
  if (!POSTGRES_URL) return { env: {}, drop: async () => {} };
  const database = await createPostgresDatabase();
  return { env: { DATABASE_URL: database.url }, drop: () => database.drop() };
}
