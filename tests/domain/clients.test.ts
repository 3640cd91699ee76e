import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Clients } from '../../src/domain/clients.ts';
import { closeDatabase, createDatabase, type Database } from '../../src/store/db.ts';
import { createEnvelope } from '../../src/store/envelope.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';

describe('client registration', () => {
  let db: Database;
  let clients: Clients;

  beforeAll(async () => {
    db = createDatabase({ databaseUrl: undefined, dataDir: ':memory:' });
    await migrateToLatest(db);
    clients = new Clients(db, createEnvelope(randomBytes(32)));
  });
  afterAll(() => closeDatabase(db));

  it('generates client ids a command line cannot mistake for options', async () => {
    for (let i = 0; i < 50; i += 1) {
      const { client } = await clients.create({ name: `App ${i}`, type: 'confidential', grantTypes: ['client_credentials'] });
      expect(client.clientId).toMatch(/^[0-9a-f]{32}$/);
    }
  });

  it('refuses a chosen client id that starts with a dash or holds other characters', async () => {
    for (const clientId of ['-x', 'a b', 'é', '', 'x'.repeat(129)]) {
      await expect(clients.create({ name: 'Odd', type: 'confidential', grantTypes: ['client_credentials'], clientId })).rejects.toMatchObject({ code: 'invalid_client_metadata' });
    }
    const { client } = await clients.create({ name: 'Chosen', type: 'confidential', grantTypes: ['client_credentials'], clientId: 'billing-worker.v2' });
    expect(client.clientId).toBe('billing-worker.v2');
  });
});
