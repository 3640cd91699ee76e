import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFound } from '../../src/domain/errors.ts';
import { RecoveryCodes } from '../../src/domain/recovery-codes.ts';
import type { Database } from '../../src/store/db.ts';
import { createEnvelope } from '../../src/store/envelope.ts';
import { BackendPool, SQL_BACKENDS, uniqueId } from '../support/adapter-backends.ts';

const pool = new BackendPool();
afterAll(() => pool.closeAll());

// Crockford base32 (no i, l, o, u): 10 symbols × 5 bits = 50 bits a code
const FORMAT = /^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$/;

async function createAccount(db: Database): Promise<string> {
  const id = randomUUID();
  await db('accounts').insert({ id, username: uniqueId('user') });
  return id;
}

interface CodeRow {
  account_id: string;
  code_hash: string;
  created_at: Date;
  used_at: Date | null;
}

for (const backend of SQL_BACKENDS) {
  describe.runIf(backend.enabled)(`recovery codes on ${backend.title}`, () => {
    const sql = pool.use(backend);
    const hashKey = createEnvelope(randomBytes(32)).derive('recovery-codes');
    let db: Database;
    let recovery: RecoveryCodes;

    beforeAll(() => {
      db = sql().db;
      recovery = new RecoveryCodes({ db, hashKey });
    });

    it('generates ten distinct codes, grouped for reading', async () => {
      const id = await createAccount(db);
      const codes = await recovery.generate(id);
      expect(codes).toHaveLength(10);
      expect(new Set(codes).size).toBe(10);
      for (const code of codes) expect(code).toMatch(FORMAT);
      expect(await recovery.remaining(id)).toBe(10);
    });

    it('stores only keyed hashes, never a code', async () => {
      const id = await createAccount(db);
      const codes = await recovery.generate(id);
      const rows = await db<CodeRow>('recovery_codes').where({ account_id: id });
      expect(rows).toHaveLength(10);
      const stored = JSON.stringify(rows);
      for (const code of codes) {
        const plain = code.replace('-', '');
        expect(stored).not.toContain(plain);
        expect(stored).not.toContain(code);
      }
      const expected = codes.map((code) => createHmac('sha256', hashKey).update(code.replace('-', '')).digest('hex'));
      expect(rows.map((row) => row.code_hash).sort()).toEqual(expected.sort());
    });

    it('accepts each code exactly once', async () => {
      const id = await createAccount(db);
      const codes = await recovery.generate(id);
      for (const [index, code] of codes.entries()) {
        expect(await recovery.use(id, code)).toBe(true);
        expect(await recovery.remaining(id)).toBe(9 - index);
        expect(await recovery.use(id, code)).toBe(false);
      }
      for (const code of codes) expect(await recovery.use(id, code)).toBe(false);
      expect(await recovery.remaining(id)).toBe(0);
    });

    it('reads a code typed in capitals, with spaces, without or with extra dashes, or with lookalikes', async () => {
      const id = await createAccount(db);
      const [a, b, c, d, e] = (await recovery.generate(id)) as [string, string, string, string, string];
      expect(await recovery.use(id, a.toUpperCase())).toBe(true);
      expect(await recovery.use(id, b.replace('-', ''))).toBe(true);
      expect(await recovery.use(id, ` ${b.slice(0, 3)} ${c.slice(3)}`)).toBe(false); // a mix of two codes is no code
      expect(await recovery.use(id, ` ${c.slice(0, 3)} - ${c.slice(3, 8)}\t${c.slice(8)} `)).toBe(true);
      expect(await recovery.use(id, d.replace('-', '–'))).toBe(true); // an en dash, as word processors turn it
      expect(await recovery.use(id, e.toUpperCase().replaceAll('0', 'O').replaceAll('1', 'l'))).toBe(true);
      expect(await recovery.remaining(id)).toBe(5);
    });

    it('lets exactly one of ten concurrent uses of one code through', async () => {
      const id = await createAccount(db);
      const [code] = (await recovery.generate(id)) as [string];
      const results = await Promise.all(Array.from({ length: 10 }, () => recovery.use(id, code)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await recovery.remaining(id)).toBe(9);
    });

    it('invalidates the whole previous set when generating a new one', async () => {
      const id = await createAccount(db);
      const old = await recovery.generate(id);
      expect(await recovery.use(id, old[0]!)).toBe(true);
      const fresh = await recovery.generate(id);
      expect(await recovery.remaining(id)).toBe(10);
      for (const code of old) expect(await recovery.use(id, code)).toBe(false);
      expect(await recovery.use(id, fresh[0]!)).toBe(true);
    });

    it('leaves exactly one set when generations race', async () => {
      const id = await createAccount(db);
      for (let round = 0; round < 5; round += 1) {
        const sets = await Promise.all(Array.from({ length: 5 }, () => recovery.generate(id)));
        expect(await recovery.remaining(id)).toBe(10);
        const usable = await Promise.all(sets.map(async (set) => (await recovery.use(id, set[0]!)) ? set : undefined));
        expect(usable.filter(Boolean)).toHaveLength(1);
      }
    });

    it('refuses another account\'s code, and leaves it usable by its owner', async () => {
      const owner = await createAccount(db);
      const other = await createAccount(db);
      const [code] = (await recovery.generate(owner)) as [string];
      await recovery.generate(other);
      expect(await recovery.use(other, code)).toBe(false);
      expect(await recovery.remaining(other)).toBe(10);
      expect(await recovery.use(owner, code)).toBe(true);
    });

    it('refuses unknown, malformed and oversized input', async () => {
      const id = await createAccount(db);
      const [code] = (await recovery.generate(id)) as [string];
      for (const input of ['', 'abcde-fghjk', code.slice(0, 10), `${code}x`, code.replace(/.$/, 'u'), `${code} `.repeat(20), "' or 1=1 --"]) {
        expect(await recovery.use(id, input)).toBe(false);
      }
      expect(await recovery.use(randomUUID(), code)).toBe(false);
      expect(await recovery.remaining(id)).toBe(10);
    });

    it('is told apart by key: the same code under another key does not match', async () => {
      const id = await createAccount(db);
      const [code] = (await recovery.generate(id)) as [string];
      const otherKey = new RecoveryCodes({ db, hashKey: randomBytes(32) });
      expect(await otherKey.use(id, code)).toBe(false);
      expect(await recovery.use(id, code)).toBe(true);
    });

    it('clears every code of the account', async () => {
      const id = await createAccount(db);
      const codes = await recovery.generate(id);
      await recovery.clear(id);
      expect(await recovery.remaining(id)).toBe(0);
      for (const code of codes) expect(await recovery.use(id, code)).toBe(false);
    });

    it('answers NotFound for an unknown account and counts nothing for it', async () => {
      await expect(recovery.generate(randomUUID())).rejects.toBeInstanceOf(NotFound);
      expect(await recovery.remaining(randomUUID())).toBe(0);
    });

    it('refuses a hash key shorter than 32 bytes', () => {
      expect(() => new RecoveryCodes({ db, hashKey: randomBytes(16) })).toThrow(TypeError);
    });
  });
}
