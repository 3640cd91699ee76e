import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.ts';
import { Clients } from '../../src/domain/clients.ts';
import type { Database } from '../../src/store/db.ts';
import { loadDerivationRoot, recordDerivationRoot } from '../../src/store/derivation-root.ts';
import { createEnvelope, EnvelopeError } from '../../src/store/envelope.ts';
import { resealAll } from '../../src/store/reseal.ts';
import { CLIENT_SECRET_SEALED } from '../../src/store/sealed-columns.ts';
import { BackendPool, SQL_BACKENDS } from '../support/adapter-backends.ts';
import { signingKeysOn } from '../support/signing-keys.ts';

const oldKey = randomBytes(32);
const newKey = randomBytes(32);

describe('the envelope while the master key is replaced', () => {
  const before = createEnvelope(oldKey);
  const during = createEnvelope(newKey, { previous: oldKey });
  const sealed = before.seal('secret', CLIENT_SECRET_SEALED, 'client-1');

  it('opens what the previous key sealed, seals only under the new one, and tells them apart', () => {
    expect(during.open(sealed, CLIENT_SECRET_SEALED, 'client-1')).toBe('secret');
    expect(() => createEnvelope(newKey).open(sealed, CLIENT_SECRET_SEALED, 'client-1')).toThrow(EnvelopeError);
    expect(during.sealedUnderCurrentKey(sealed, CLIENT_SECRET_SEALED, 'client-1')).toBe(false);
    const resealed = during.seal('secret', CLIENT_SECRET_SEALED, 'client-1');
    expect(during.sealedUnderCurrentKey(resealed, CLIENT_SECRET_SEALED, 'client-1')).toBe(true);
    expect(() => before.open(resealed, CLIENT_SECRET_SEALED, 'client-1')).toThrow(EnvelopeError);
    // still bound to its row under the previous key
    expect(() => during.open(sealed, CLIENT_SECRET_SEALED, 'client-2')).toThrow(EnvelopeError);
  });

  it('derives from the derivation root, not from the master key, when one is given', () => {
    const rooted = createEnvelope(newKey, { previous: oldKey, derivationRoot: oldKey });
    expect(rooted.derive('token-ids')).toEqual(before.derive('token-ids'));
    expect(createEnvelope(newKey).derive('token-ids')).not.toEqual(before.derive('token-ids'));
  });
});

const pool = new BackendPool();
afterAll(() => pool.closeAll());

for (const backend of SQL_BACKENDS) {
  describe.runIf(backend.enabled)(`the derivation root on ${backend.title}`, () => {
    const sql = pool.use(backend);
    let db: Database;

    beforeAll(() => {
      db = sql().db;
    });
    beforeEach(async () => {
      await db('signing_keys').delete();
      await db('clients').delete();
      await db('master_key_derivation').delete();
      await signingKeysOn(db, createEnvelope(oldKey)).ensureCurrent();
    });

    it('is the master key until a rotation, then the previous key while it is replaced, then the recorded one', async () => {
      expect(await loadDerivationRoot(db, { master: oldKey, previous: undefined })).toEqual(oldKey);
      expect(await loadDerivationRoot(db, { master: newKey, previous: oldKey })).toEqual(oldKey);
      const envelope = createEnvelope(newKey, { previous: oldKey, derivationRoot: oldKey });
      const { client } = await new Clients(db, createEnvelope(oldKey)).create({ name: 'Worker', type: 'confidential', grantTypes: ['client_credentials'] });
      const counts = await resealAll(db, envelope, (trx) => recordDerivationRoot(trx, envelope, oldKey));
      expect(counts.map(({ table, resealed, current }) => [table, resealed, current])).toEqual([
        ['signing_keys', 1, 0],
        ['clients', 1, 0],
        ['accounts', 0, 0],
        ['master_key_derivation', 0, 1],
      ]);
      expect(await loadDerivationRoot(db, { master: newKey, previous: undefined })).toEqual(oldKey);
      expect((await new Clients(db, createEnvelope(newKey)).metadataFor(client.clientId))?.client_secret).toBeTypeOf('string');
    });

    it('refuses a previous key that sealed none of the stored signing keys', async () => {
      await expect(loadDerivationRoot(db, { master: newKey, previous: randomBytes(32) })).rejects.toThrow(ConfigError);
      await expect(loadDerivationRoot(db, { master: newKey, previous: randomBytes(32) })).rejects.toThrow('POSTERN_MASTER_KEY_PREVIOUS opens none of the stored signing keys: it must be the master key used until now');
    });

    it('changes nothing when a value opens under neither key', async () => {
      const stranger = createEnvelope(randomBytes(32));
      const { client } = await new Clients(db, createEnvelope(oldKey)).create({ name: 'Worker', type: 'confidential', grantTypes: ['client_credentials'] });
      await db('clients').where({ client_id: client.clientId }).update({ client_secret_sealed: stranger.seal('x', CLIENT_SECRET_SEALED, client.clientId) });
      const envelope = createEnvelope(newKey, { previous: oldKey, derivationRoot: oldKey });
      const sealedBefore = await db('signing_keys').pluck('private_jwk_sealed');
      await expect(resealAll(db, envelope, (trx) => recordDerivationRoot(trx, envelope, oldKey))).rejects.toThrow(EnvelopeError);
      expect(await db('signing_keys').pluck('private_jwk_sealed')).toEqual(sealedBefore);
      expect(Number((await db('master_key_derivation').count({ count: '*' }))[0]!.count)).toBe(0);
    });
  });
}
