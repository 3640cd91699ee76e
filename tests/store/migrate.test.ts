import { describe, expect, it } from 'vitest';
import { closeDatabase, createDatabase } from '../../src/store/db.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { createPostgresDatabase, POSTGRES_URL } from '../support/backends.ts';

describe.runIf(POSTGRES_URL)('migrations on PostgreSQL (runs when TEST_DATABASE_URL is set)', () => {
  it('lets instances that start together on an empty database all succeed, migrating once', async () => {
    const database = await createPostgresDatabase();
    const instances = Array.from({ length: 3 }, () => createDatabase({ databaseUrl: database.url, dataDir: ':memory:' }));
    try {
      const results = await Promise.all(instances.map((db) => migrateToLatest(db)));
      expect(results.filter((applied) => applied.length > 0)).toHaveLength(1);
      expect(await migrateToLatest(instances[0]!)).toEqual([]);
    } finally {
      await Promise.all(instances.map((db) => closeDatabase(db)));
      await database.drop();
    }
  });
});
