import { createHmac, randomBytes } from 'node:crypto';
import type { Database } from '../store/db.ts';
import { NotFound } from './errors.ts';

// Crockford's base32: no i, l, o or u, so nothing reads as another character; 32 symbols give 5 bits each.
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const CODE_LENGTH = 10;
const GROUP_LENGTH = 5;
const CODES_PER_SET = 10;
const LONGEST_INPUT = 64;

/** What people mistype for the symbols of the alphabet (Crockford's decoding rules). */
const LOOKALIKES: Record<string, string> = { o: '0', i: '1', l: '1' };

export interface RecoveryCodesOptions {
  db: Database;
  /** 32-byte key the codes are hashed with (the master key's 'recovery-codes' derivation) */
  hashKey: Buffer;
}

function randomCode(): string {
  // 32 symbols: each random byte's low 5 bits pick one without bias
  return [...randomBytes(CODE_LENGTH)].map((byte) => ALPHABET[byte & 31]).join('');
}

const formatted = (code: string) => `${code.slice(0, GROUP_LENGTH)}-${code.slice(GROUP_LENGTH)}`;

/** Lower case, without spaces or dashes, lookalikes folded; undefined when it cannot be a code. */
function normaliseCode(input: string): string | undefined {
  if (input.length > LONGEST_INPUT) return undefined;
  const code = [...input.normalize('NFKC').toLowerCase().replace(/[\s\p{Pd}]/gu, '')].map((c) => LOOKALIKES[c] ?? c).join('');
  if (code.length !== CODE_LENGTH || ![...code].every((c) => ALPHABET.includes(c))) return undefined;
  return code;
}

/**
 * Single-use codes that stand in for the second factor when the authenticator is lost. Only an
 * HMAC of each code is stored; the plain codes exist once, in `generate`'s answer.
 */
export class RecoveryCodes {
  readonly #db: Database;
  readonly #hashKey: Buffer;

  constructor(options: RecoveryCodesOptions) {
    if (options.hashKey.length < 32) throw new TypeError('the recovery code key must be at least 32 bytes');
    this.#db = options.db;
    this.#hashKey = options.hashKey;
  }

  #hash(normalised: string): string {
    return createHmac('sha256', this.#hashKey).update(normalised).digest('hex');
  }

  /** Ten fresh codes, formatted `xxxxx-xxxxx`, replacing the account's previous set. */
  async generate(accountId: string): Promise<string[]> {
    const codes = new Set<string>();
    while (codes.size < CODES_PER_SET) codes.add(randomCode());
    await this.#db.transaction(async (trx) => {
      // the row lock keeps two concurrent generations from both leaving their set behind
      const account = await trx('accounts').where({ id: accountId }).forUpdate().first('id');
      if (!account) throw new NotFound(`no account ${accountId}`);
      await trx('recovery_codes').where({ account_id: accountId }).delete();
      await trx('recovery_codes').insert([...codes].map((code) => ({ account_id: accountId, code_hash: this.#hash(code) })));
    });
    return [...codes].map(formatted);
  }

  /** True the first time a code of the account's current set is used; false ever after, and for any other input. */
  async use(accountId: string, code: string): Promise<boolean> {
    const normalised = normaliseCode(code);
    if (normalised === undefined) return false;
    const used = await this.#db('recovery_codes')
      .where({ account_id: accountId, code_hash: this.#hash(normalised) })
      .whereNull('used_at')
      .update({ used_at: this.#db.fn.now() })
      .returning('code_hash');
    return used.length === 1;
  }

  /** How many codes of the current set are still unused. */
  async remaining(accountId: string): Promise<number> {
    const row = await this.#db('recovery_codes').where({ account_id: accountId }).whereNull('used_at').count<{ count: string | number }[]>({ count: '*' }).first();
    return Number(row?.count ?? 0);
  }

  async clear(accountId: string): Promise<void> {
    await this.#db('recovery_codes').where({ account_id: accountId }).delete();
  }
}
