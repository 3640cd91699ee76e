import { describe, expect, it } from 'vitest';
import * as initial from '../../migrations/20261124000000_initial.ts';
import * as signInSecurity from '../../migrations/20261124010000_sign_in_security.ts';
import * as resourceServerIntrospectors from '../../migrations/20261129100000_resource_server_introspectors.ts';
import * as trustedDevices from '../../migrations/20261129100100_trusted_devices.ts';
import * as roles from '../../migrations/20261129300000_roles.ts';
import * as resourceServerAccess from '../../migrations/20261129300100_resource_server_access.ts';
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

describe('the roles migrations', () => {
  it('keep every API registered before them open to every user, and make new ones default to roles', async () => {
    const db = createDatabase({ databaseUrl: undefined, dataDir: ':memory:' });
    try {
      for (const migration of [initial, signInSecurity, resourceServerIntrospectors, trustedDevices]) await migration.up(db);
      await db('resource_servers').insert({ identifier: 'https://old.example.test', name: 'Old' });
      await roles.up(db);
      await resourceServerAccess.up(db);
      await db('resource_servers').insert({ identifier: 'https://new.example.test', name: 'New' });
      expect(await db('resource_servers').orderBy('identifier').select('identifier', 'access')).toEqual([
        { identifier: 'https://new.example.test', access: 'roles' },
        { identifier: 'https://old.example.test', access: 'open' },
      ]);
      await expect(db('resource_servers').where({ identifier: 'https://old.example.test' }).update({ access: 'everyone' })).rejects.toThrow(/resource_servers_access/);
      await resourceServerAccess.down(db);
      await roles.down(db);
    } finally {
      await closeDatabase(db);
    }
  });
});
