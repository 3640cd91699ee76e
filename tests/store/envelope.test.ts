import { createCipheriv, randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Clients } from '../../src/domain/clients.ts';
import { signingKeysOn } from '../support/signing-keys.ts';
import { Totp } from '../../src/domain/totp.ts';
import type { Database } from '../../src/store/db.ts';
import { createEnvelope, EnvelopeError } from '../../src/store/envelope.ts';
import { MemoryKv } from '../../src/store/kv/memory-kv.ts';
import { resealAll } from '../../src/store/reseal.ts';
import { CLIENT_SECRET_SEALED, SIGNING_KEY_SEALED, TOTP_SECRET_SEALED, type SealedColumn } from '../../src/store/sealed-columns.ts';
import { BackendPool, SQL_BACKENDS, uniqueId } from '../support/adapter-backends.ts';

const masterKey = randomBytes(32);
const envelope = createEnvelope(masterKey);

/** Flips one bit of one base64url part of a sealed value (1 iv, 2 tag, 3 ciphertext). */
function tamper(sealed: string, part: 1 | 2 | 3): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[part]!, 'base64url');
  bytes[0]! ^= 0x01;
  parts[part] = bytes.toString('base64url');
  return parts.join('.');
}

/** The first format, as Postern wrote it before values were bound to their row: the master key itself, the purpose as AAD. */
function sealV1(key: Buffer, plaintext: string, purpose: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(purpose));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
}

const legacy = (plaintext: string, column: SealedColumn, row: string) => sealV1(masterKey, plaintext, column.legacyPurpose(row));

describe('secret envelope (AES-256-GCM)', () => {
  it.each([
    ['a signing key', '{"kty":"RSA","d":"…"}'],
    ['unicode', 'pässwörd 秘密 🔑'],
    ['an empty string', ''],
    ['a long value', 'x'.repeat(100_000)],
  ])('seals and opens %s', (_label, plaintext) => {
    const sealed = envelope.seal(plaintext, SIGNING_KEY_SEALED, 'kid-1');
    expect(sealed).toMatch(/^v2\.[\w-]+\.[\w-]+\.[\w-]*$/);
    if (plaintext) expect(sealed).not.toContain(plaintext);
    expect(envelope.open(sealed, SIGNING_KEY_SEALED, 'kid-1')).toBe(plaintext);
    expect(envelope.isCurrent(sealed)).toBe(true);
  });

  it('seals the same plaintext differently each time (fresh IV)', () => {
    expect(envelope.seal('secret', CLIENT_SECRET_SEALED, 'a')).not.toBe(envelope.seal('secret', CLIENT_SECRET_SEALED, 'a'));
  });

  it.each([
    [1, 'IV'],
    [2, 'tag'],
    [3, 'ciphertext'],
  ] as const)('rejects a value whose part %i (%s) was tampered with', (part, _name) => {
    const sealed = envelope.seal('client secret', CLIENT_SECRET_SEALED, 'app');
    expect(() => envelope.open(tamper(sealed, part), CLIENT_SECRET_SEALED, 'app')).toThrow(EnvelopeError);
  });

  it('rejects a value moved to another row, another column or another table', () => {
    const sealed = envelope.seal('totp seed', TOTP_SECRET_SEALED, 'account-a');
    expect(envelope.open(sealed, TOTP_SECRET_SEALED, 'account-a')).toBe('totp seed');
    expect(() => envelope.open(sealed, TOTP_SECRET_SEALED, 'account-b')).toThrow(EnvelopeError);
    expect(() => envelope.open(sealed, { ...TOTP_SECRET_SEALED, column: 'other_sealed' }, 'account-a')).toThrow(EnvelopeError);
    expect(() => envelope.open(sealed, CLIENT_SECRET_SEALED, 'account-a')).toThrow(EnvelopeError);
  });

  it('does not encrypt under the master key itself: a value sealed with it as a v2 key does not open', () => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', masterKey, iv);
    cipher.setAAD(Buffer.from(JSON.stringify([CLIENT_SECRET_SEALED.table, CLIENT_SECRET_SEALED.column, 'app'])));
    const ciphertext = Buffer.concat([cipher.update('secret', 'utf8'), cipher.final()]);
    const forged = ['v2', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
    expect(() => envelope.open(forged, CLIENT_SECRET_SEALED, 'app')).toThrow(EnvelopeError);
  });

  it('still opens a value of the first format, for the purpose it was sealed for, and reports it as not current', () => {
    const old = legacy('client secret', CLIENT_SECRET_SEALED, 'app');
    expect(old).toMatch(/^v1\./);
    expect(envelope.isCurrent(old)).toBe(false);
    expect(envelope.open(old, CLIENT_SECRET_SEALED, 'app')).toBe('client secret');
    expect(() => envelope.open(old, SIGNING_KEY_SEALED, 'app')).toThrow(EnvelopeError);
    const totp = legacy('seed', TOTP_SECRET_SEALED, 'account-a');
    expect(envelope.open(totp, TOTP_SECRET_SEALED, 'account-a')).toBe('seed');
    expect(() => envelope.open(totp, TOTP_SECRET_SEALED, 'account-b')).toThrow(EnvelopeError);
  });

  it('rejects a value opened under another master key', () => {
    const sealed = envelope.seal('totp seed', TOTP_SECRET_SEALED, 'a');
    expect(() => createEnvelope(randomBytes(32)).open(sealed, TOTP_SECRET_SEALED, 'a')).toThrow(EnvelopeError);
    expect(() => createEnvelope(randomBytes(32)).open(legacy('seed', TOTP_SECRET_SEALED, 'a'), TOTP_SECRET_SEALED, 'a')).toThrow(EnvelopeError);
  });

  it.each(['', 'plain text', 'v3.a.b.c', 'v1.onlyiv', 'v2.a.b.c.d'])('rejects %j as not a sealed value', (value) => {
    expect(() => envelope.open(value, CLIENT_SECRET_SEALED, 'p')).toThrow(EnvelopeError);
  });

  it('refuses a master key that is not 32 bytes', () => {
    expect(() => createEnvelope(randomBytes(16))).toThrow(TypeError);
  });

  it('derives stable, purpose-bound keys', () => {
    const key = randomBytes(32);
    const derived = createEnvelope(key).derive('cookies');
    expect(derived).toHaveLength(32);
    expect(createEnvelope(key).derive('cookies')).toEqual(derived);
    expect(envelope.derive('cookies')).not.toEqual(derived);
    expect(createEnvelope(key).derive('token-hmac')).not.toEqual(derived);
    expect(createEnvelope(key).derive('cookies', 64)).toHaveLength(64);
  });
});

const pool = new BackendPool();
afterAll(() => pool.closeAll());

for (const backend of SQL_BACKENDS) {
  describe.runIf(backend.enabled)(`sealed columns on ${backend.title}`, () => {
    const sql = pool.use(backend);
    let db: Database;

    beforeAll(() => {
      db = sql().db;
    });

    const services = () => ({
      clients: new Clients(db, envelope),
      signingKeys: signingKeysOn(db, envelope),
      totp: new Totp({ db, kv: new MemoryKv(), envelope, issuer: 'Postern Test' }),
    });

    async function sealedValues(): Promise<string[]> {
      const keys = await db('signing_keys').pluck('private_jwk_sealed');
      const secrets = await db('clients').whereNotNull('client_secret_sealed').pluck('client_secret_sealed');
      const totp = await db('accounts').whereNotNull('totp_secret_sealed').pluck('totp_secret_sealed');
      return [...keys, ...secrets, ...totp] as string[];
    }

    it('a client secret copied to another client\'s row does not open there', async () => {
      const { clients } = services();
      const first = await clients.create({ name: 'First', type: 'confidential', grantTypes: ['client_credentials'] });
      const second = await clients.create({ name: 'Second', type: 'confidential', grantTypes: ['client_credentials'] });
      const sealed = await db('clients').where({ client_id: first.client.clientId }).first('client_secret_sealed');
      expect(sealed.client_secret_sealed).toMatch(/^v2\./);
      await db('clients').where({ client_id: second.client.clientId }).update({ client_secret_sealed: sealed.client_secret_sealed });
      await expect(clients.metadataFor(second.client.clientId)).rejects.toThrow(EnvelopeError);
      expect((await clients.metadataFor(first.client.clientId))?.client_secret).toBe(first.clientSecret);
    });

    it('reseal converts every value of the first format, which still opened before, and is idempotent', async () => {
      const { clients, signingKeys, totp } = services();
      // as an installation from before bound values: one of each sealed column in the first format
      await signingKeys.ensureCurrent();
      const [jwk] = await signingKeys.privateJwks();
      await db('signing_keys').where({ kid: jwk!.kid }).update({ private_jwk_sealed: legacy(JSON.stringify(jwk), SIGNING_KEY_SEALED, jwk!.kid!) });
      const { client, clientSecret } = await clients.create({ name: 'Old', type: 'confidential', grantTypes: ['client_credentials'] });
      await db('clients').where({ client_id: client.clientId }).update({ client_secret_sealed: legacy(clientSecret!, CLIENT_SECRET_SEALED, client.clientId) });
      const accountId = randomUUID();
      await db('accounts').insert({ id: accountId, username: uniqueId('user') });
      const { secret } = await totp.beginEnrolment(accountId, 'someone');
      await db('accounts').where({ id: accountId }).update({ totp_secret_sealed: legacy(secret, TOTP_SECRET_SEALED, accountId) });
      // the value the previous test moved does not open: reseal must not meet it
      await db('clients').whereNot({ client_id: client.clientId }).delete();

      // read paths open the old format
      expect(await signingKeysOn(db, envelope).privateJwks()).toEqual([jwk]);
      expect((await new Clients(db, envelope).metadataFor(client.clientId))?.client_secret).toBe(clientSecret);
      expect((await totp.pendingEnrolment(accountId, 'someone'))?.secret).toBe(secret);
      expect((await sealedValues()).filter((value) => value.startsWith('v1.'))).toHaveLength(3);

      const first = await resealAll(db, envelope);
      expect(first).toEqual([
        { table: 'signing_keys', column: 'private_jwk_sealed', resealed: 1, current: 0 },
        { table: 'clients', column: 'client_secret_sealed', resealed: 1, current: 0 },
        { table: 'accounts', column: 'totp_secret_sealed', resealed: 1, current: 0 },
        { table: 'master_key_derivation', column: 'root_sealed', resealed: 0, current: 0 },
      ]);
      const after = await sealedValues();
      expect(after.every((value) => value.startsWith('v2.'))).toBe(true);
      expect(await signingKeysOn(db, envelope).privateJwks()).toEqual([jwk]);
      expect((await new Clients(db, envelope).metadataFor(client.clientId))?.client_secret).toBe(clientSecret);
      expect((await totp.pendingEnrolment(accountId, 'someone'))?.secret).toBe(secret);

      const second = await resealAll(db, envelope);
      expect(second.map(({ resealed, current }) => ({ resealed, current }))).toEqual([
        { resealed: 0, current: 1 },
        { resealed: 0, current: 1 },
        { resealed: 0, current: 1 },
        { resealed: 0, current: 0 },
      ]);
      expect(await sealedValues()).toEqual(after);
    });

    it('reseal changes nothing when one value does not open', async () => {
      const accountId = randomUUID();
      await db('accounts').insert({ id: accountId, username: uniqueId('user') });
      const stranger = sealV1(randomBytes(32), 'seed', TOTP_SECRET_SEALED.legacyPurpose(accountId));
      const { client, clientSecret } = await services().clients.create({ name: 'Older', type: 'confidential', grantTypes: ['client_credentials'] });
      const old = legacy(clientSecret!, CLIENT_SECRET_SEALED, client.clientId);
      await db('clients').where({ client_id: client.clientId }).update({ client_secret_sealed: old });
      await db('accounts').where({ id: accountId }).update({ totp_secret_sealed: stranger });
      await expect(resealAll(db, envelope)).rejects.toThrow(EnvelopeError);
      expect((await db('clients').where({ client_id: client.clientId }).first('client_secret_sealed')).client_secret_sealed).toBe(old);
      await db('accounts').where({ id: accountId }).delete();
    });
  });
}
