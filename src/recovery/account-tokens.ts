import { createHash, randomBytes } from 'node:crypto';
import { deletedRows, type Database } from '../store/db.ts';

export type AccountTokenPurpose = 'password_reset' | 'email_verification';

/** 32 random bytes in base64url: exactly 43 characters of this alphabet. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

function hashOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * One-time links mailed to a user (password reset, email verification). Only the SHA-256 of a
 * token is stored; the token itself exists only in the mail. A token is good for one purpose,
 * until it expires or is used, and only while its account is not disabled. Expiry is judged by
 * the database clock, the one that set it.
 */
export class AccountTokens {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Stores a new token for the account and returns it; forgets the account's dead tokens of this purpose. */
  async issue(accountId: string, purpose: AccountTokenPurpose, ttlSeconds: number): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await this.#db('account_tokens')
      .where({ account_id: accountId, purpose })
      .andWhere((q) => q.whereNotNull('used_at').orWhere('expires_at', '<=', this.#db.fn.now()))
      .delete();
    await this.#db('account_tokens').insert({
      token_hash: hashOf(token),
      purpose,
      account_id: accountId,
      expires_at: this.#db.raw('now() + make_interval(secs => ?)', [ttlSeconds]),
    });
    return token;
  }

  /** The account a usable token belongs to, without using it up; undefined for any other token. */
  async peek(token: string, purpose: AccountTokenPurpose): Promise<string | undefined> {
    if (!TOKEN_SHAPE.test(token)) return undefined;
    const row = await this.#usable(token, purpose).first<{ account_id: string } | undefined>('account_id');
    return row?.account_id;
  }

  /**
   * Uses the token up and returns its account, or undefined when it is not usable. One statement,
   * so of two requests racing with the same token exactly one gets the account.
   */
  async consume(token: string, purpose: AccountTokenPurpose): Promise<string | undefined> {
    if (!TOKEN_SHAPE.test(token)) return undefined;
    const rows = await this.#usable(token, purpose)
      .update({ used_at: this.#db.fn.now() })
      .returning<Array<{ account_id: string }>>('account_id');
    return rows[0]?.account_id;
  }

  /**
   * Makes a token just consumed usable again, when what it was consumed for was refused (a new
   * password the policy turned down). A token expired meanwhile (see `expireAll`) stays dead.
   */
  async restore(token: string, purpose: AccountTokenPurpose): Promise<void> {
    await this.#db('account_tokens').where({ token_hash: hashOf(token), purpose }).whereNotNull('used_at').update({ used_at: null });
  }

  /** Ends every token of this purpose the account still has, used or not. */
  async expireAll(accountId: string, purpose: AccountTokenPurpose): Promise<void> {
    await this.#db('account_tokens')
      .where({ account_id: accountId, purpose })
      .andWhere('expires_at', '>', this.#db.fn.now())
      .update({ expires_at: this.#db.fn.now() });
  }

  #usable(token: string, purpose: AccountTokenPurpose) {
    return this.#db('account_tokens')
      .where({ token_hash: hashOf(token), purpose })
      .whereNull('used_at')
      .andWhere('expires_at', '>', this.#db.fn.now())
      .whereIn('account_id', this.#db('accounts').select('id').where({ disabled: false }));
  }
}

/** Deletes reset and verification tokens a day after they expired (used ones included); returns how many went. */
export async function purgeExpiredAccountTokens(db: Database): Promise<number> {
  return deletedRows(await db('account_tokens').where('expires_at', '<', db.raw("now() - interval '1 day'")).delete());
}
