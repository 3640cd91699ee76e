import { createHash, randomBytes } from 'node:crypto';
import { deletedRows, type Database } from '../store/db.ts';
import { InvalidRequest, NotFound } from './errors.ts';

/** What is shown of an initial access token: never its value, which is returned once when it is made. */
export interface InitialAccessTokenSummary {
  id: string;
  description: string;
  createdAt: Date;
  expiresAt: Date;
  /** registrations it may still make; null: any number until it expires */
  usesLeft: number | null;
  /** registrations made with it so far */
  uses: number;
}

export interface NewInitialAccessToken {
  description?: string | undefined;
  /** seconds it stays valid; default one day, at most a year */
  ttlSeconds?: number | undefined;
  /** how many registrations it allows; absent: any number */
  maxUses?: number | undefined;
}

interface TokenRow {
  id: string;
  token_hash: string;
  description: string;
  created_at: Date | string;
  expires_at: Date | string;
  uses_left: number | null;
  uses: number;
}

const DEFAULT_TTL_SECONDS = 86400;
const MAX_TTL_SECONDS = 365 * 86400;
const PREFIX = 'pit_';

function hashOf(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

function toSummary(row: TokenRow): InitialAccessTokenSummary {
  return {
    id: row.id,
    description: row.description,
    createdAt: new Date(row.created_at),
    expiresAt: new Date(row.expires_at),
    usesLeft: row.uses_left,
    uses: row.uses,
  };
}

/**
 * Initial access tokens for dynamic client registration (RFC 7591 §3): made, listed and revoked
 * by operators; a registration spends one use. Stored as hashes only.
 */
export class InitialAccessTokens {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Makes a token; its value is returned here only. */
  async create(input: NewInitialAccessToken = {}): Promise<{ token: InitialAccessTokenSummary; value: string }> {
    const ttl = input.ttlSeconds ?? DEFAULT_TTL_SECONDS;
    if (!Number.isInteger(ttl) || ttl < 60 || ttl > MAX_TTL_SECONDS) throw new InvalidRequest(`an initial access token lives 60 to ${MAX_TTL_SECONDS} seconds`);
    if (input.maxUses !== undefined && (!Number.isInteger(input.maxUses) || input.maxUses < 1 || input.maxUses > 1_000_000)) {
      throw new InvalidRequest('max uses is a whole number from 1 to 1000000');
    }
    const description = (input.description ?? '').trim();
    if (description.length > 200) throw new InvalidRequest('a description is at most 200 characters');
    const id = randomBytes(8).toString('hex');
    const value = `${PREFIX}${randomBytes(32).toString('base64url')}`;
    const [row] = await this.#db('initial_access_tokens')
      .insert({
        id,
        token_hash: hashOf(value),
        description,
        expires_at: new Date(Date.now() + ttl * 1000),
        uses_left: input.maxUses ?? null,
      })
      .returning<TokenRow[]>('*');
    return { token: toSummary(row!), value };
  }

  async list(): Promise<InitialAccessTokenSummary[]> {
    return (await this.#db<TokenRow>('initial_access_tokens').orderBy('created_at')).map(toSummary);
  }

  async revoke(id: string): Promise<void> {
    if (id.includes('\0')) throw new NotFound(`no initial access token ${id}`);
    const deleted = deletedRows(await this.#db('initial_access_tokens').where({ id }).delete());
    if (deleted === 0) throw new NotFound(`no initial access token ${id}`);
  }

  /**
   * Spends one use of the token with this value, atomically (of two registrations racing for the
   * last use, one wins). Undefined when it is unknown, expired or used up.
   */
  async spend(value: string): Promise<InitialAccessTokenSummary | undefined> {
    if (!value.startsWith(PREFIX) || value.length > 200) return undefined;
    const [row] = await this.#db('initial_access_tokens')
      .where({ token_hash: hashOf(value) })
      .where('expires_at', '>', this.#db.fn.now())
      .where((q) => q.whereNull('uses_left').orWhere('uses_left', '>', 0))
      .update({
        uses: this.#db.raw('uses + 1'),
        uses_left: this.#db.raw('case when uses_left is null then null else uses_left - 1 end'),
      })
      .returning<TokenRow[]>('*');
    return row ? toSummary(row) : undefined;
  }

  /** Gives back a use spent by a registration that was then refused. */
  async refund(value: string): Promise<void> {
    await this.#db('initial_access_tokens')
      .where({ token_hash: hashOf(value) })
      .update({
        uses: this.#db.raw('greatest(uses - 1, 0)'),
        uses_left: this.#db.raw('case when uses_left is null then null else uses_left + 1 end'),
      });
  }

  /** Removes tokens expired for more than a day (kept that long so a listing still explains a refusal). */
  async purgeExpired(): Promise<number> {
    return deletedRows(await this.#db('initial_access_tokens').where('expires_at', '<', new Date(Date.now() - 86400_000)).delete());
  }
}
