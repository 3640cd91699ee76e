import { randomUUID } from 'node:crypto';
import { deletedRows, type Database } from '../store/db.ts';
import type { RecordCache, RemovedRecord } from '../store/record-cache.ts';
import { IdentifierTaken, InvalidRequest, NotFound } from './errors.ts';
import type { LogoutDeliveries } from './logout-deliveries.ts';
import { PasswordPolicy } from './password-policy.ts';
import type { PasswordHasher } from './passwords.ts';
import { applyProfileChanges, storedProfile, type ProfileChanges, type ProfileClaims } from './profile-claims.ts';

export interface Account {
  id: string;
  username: string;
  email: string | null;
  emailVerified: boolean;
  name: string | null;
  givenName: string | null;
  familyName: string | null;
  /** the other standard claims: nickname, picture, phone, address, … */
  profile: ProfileClaims;
  disabled: boolean;
  hasPassword: boolean;
  /** sessions and tokens from before this moment are not honoured; null: all are */
  sessionsValidAfter: Date | null;
  /** trusted devices of an earlier generation no longer count (TrustedDevices) */
  deviceGeneration: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface LoginVerdict {
  account: Account | undefined;
  reason: 'unknown_user' | 'no_password' | 'wrong_password' | 'disabled' | 'locked' | undefined;
  /** the account the login named, when there is one (for throttling and audit) */
  named?: Account | undefined;
}

export interface NewAccount {
  username: string;
  email?: string | undefined;
  emailVerified?: boolean | undefined;
  name?: string | undefined;
  givenName?: string | undefined;
  familyName?: string | undefined;
}

/** What an administrator may change on an account; null clears a field. */
export interface AccountChanges {
  email?: string | null | undefined;
  emailVerified?: boolean | undefined;
  name?: string | null | undefined;
  givenName?: string | null | undefined;
  familyName?: string | null | undefined;
  disabled?: boolean | undefined;
  /** the other standard claims; null or '' removes one (see profile-claims.ts) */
  profile?: ProfileChanges | undefined;
}

interface AccountRow {
  id: string;
  username: string;
  email: string | null;
  email_verified: boolean;
  name: string | null;
  given_name: string | null;
  family_name: string | null;
  /** absent from shared-cache entries written before the column existed */
  profile?: unknown;
  password_hash: string | null;
  disabled: boolean;
  sessions_valid_after: Date | string | null;
  device_generation: number;
  created_at: Date | string;
  updated_at: Date | string;
}

const USERNAME = /^[\p{L}\p{N}._@+-]{1,64}$/u;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** The columns an account is read with when no secret is needed (no hash, no sealed TOTP secret). */
const PUBLIC_COLUMNS = ['id', 'username', 'email', 'email_verified', 'name', 'given_name', 'family_name', 'profile', 'password_hash', 'disabled', 'sessions_valid_after', 'device_generation', 'created_at', 'updated_at'] as const;

/** What the shared cache holds: never the password hash. */
type CachedAccountRow = Omit<AccountRow, 'password_hash'> & { has_password: boolean };

function withoutHash({ password_hash: hash, ...row }: AccountRow): CachedAccountRow {
  return { ...row, has_password: hash !== null };
}

function toAccount(row: AccountRow | CachedAccountRow): Account {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    emailVerified: row.email_verified,
    name: row.name,
    givenName: row.given_name,
    familyName: row.family_name,
    profile: storedProfile(row.profile),
    disabled: row.disabled,
    hasPassword: 'has_password' in row ? row.has_password : row.password_hash !== null,
    sessionsValidAfter: row.sessions_valid_after ? new Date(row.sessions_valid_after) : null,
    // entries cached before the column existed lack it
    deviceGeneration: row.device_generation ?? 0,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

/**
 * Whether something that began at `epochSeconds` (a session's login, a token's issue) predates
 * the account's last "sign out everywhere", and so no longer stands for the account.
 */
export function predatesSignOut(account: Account, epochSeconds: number | undefined): boolean {
  return account.sessionsValidAfter !== null && (epochSeconds ?? 0) * 1000 < account.sessionsValidAfter.getTime();
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
}

/** OIDC standard claims by scope (OpenID Connect Core §5.4). */
export function claimsFor(account: Account): Record<string, unknown> {
  return {
    sub: account.id,
    preferred_username: account.username,
    name: account.name ?? undefined,
    given_name: account.givenName ?? undefined,
    family_name: account.familyName ?? undefined,
    updated_at: Math.floor(account.updatedAt.getTime() / 1000),
    email: account.email ?? undefined,
    email_verified: account.email ? account.emailVerified : undefined,
    ...account.profile,
  };
}

/** What a person, the CLI or the admin API may change about an account's profile. */
export interface AccountProfileChanges extends ProfileChanges {
  name?: string | null;
  given_name?: string | null;
  family_name?: string | null;
}

const NAME_COLUMNS = ['name', 'given_name', 'family_name'] as const;

export class Accounts {
  readonly #db: Database;
  readonly #passwords: PasswordHasher;
  readonly #cache: RecordCache | undefined;
  readonly #policy: PasswordPolicy;
  readonly #logouts: Pick<LogoutDeliveries, 'queueForAccount'> | undefined;

  /**
   * With `cache`, lookups by id (every token and userinfo request) go through the shared cache.
   * Every password set is checked against `policy` first (by default: at least 12 characters).
   * With `logouts`, deleting an account tells the applications its sessions signed in.
   */
  constructor(
    db: Database,
    passwords: PasswordHasher,
    cache?: RecordCache,
    policy = new PasswordPolicy({ minLength: 12 }),
    logouts?: Pick<LogoutDeliveries, 'queueForAccount'>,
  ) {
    this.#db = db;
    this.#passwords = passwords;
    this.#cache = cache;
    this.#policy = policy;
    this.#logouts = logouts;
  }

  /**
   * Runs a write of account `id`: the shared cache entry is marked before (so a cache that cannot
   * be reached stops the write) and after it, with the records the write removed.
   */
  async #change<T>(id: string, write: () => Promise<T>, removedBy?: (result: T) => RemovedRecord[]): Promise<T> {
    const account = this.#cache?.accounts<CachedAccountRow>();
    await account?.invalidate([id]);
    const result = await write();
    await account?.invalidate([id]);
    if (removedBy) await this.#cache?.forget(removedBy(result));
    return result;
  }

  /** Throws IdentifierTaken when the username or the email address is another account's. */
  async create(input: NewAccount, password?: string): Promise<Account> {
    const username = input.username.normalize('NFKC').trim();
    if (!USERNAME.test(username)) {
      throw new InvalidRequest('username must be 1-64 letters, digits or . _ @ + -');
    }
    const email = input.email?.trim() || null;
    if (email !== null && !EMAIL.test(email)) throw new InvalidRequest('email is not a valid address');
    if (password !== undefined) this.#policy.check(password, { username, email });
    const row = {
      id: randomUUID(),
      username,
      email,
      email_verified: input.emailVerified ?? false,
      name: input.name ?? null,
      given_name: input.givenName ?? null,
      family_name: input.familyName ?? null,
      password_hash: password === undefined ? null : await this.#passwords.hash(password),
    };
    try {
      const [inserted] = await this.#db('accounts').insert(row).returning('*');
      return toAccount(inserted as AccountRow);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      // both may be taken: the username is the one a caller may name
      const sameUsername = await this.#db('accounts').whereRaw('lower(username) = lower(?)', [username]).first('id');
      throw new IdentifierTaken(sameUsername ? 'username' : 'email', { cause: error });
    }
  }

  async findById(id: string): Promise<Account | undefined> {
    if (id.includes('\0')) return undefined;
    const load = async () => {
      const row = await this.#db<AccountRow>('accounts').where({ id }).first(...PUBLIC_COLUMNS);
      return row ? withoutHash(row) : undefined;
    };
    const row = this.#cache ? await this.#cache.accounts<CachedAccountRow>().get(id, load) : await load();
    return row ? toAccount(row) : undefined;
  }

  async #rowByLogin(login: string): Promise<AccountRow | undefined> {
    const normalised = login.normalize('NFKC').trim().toLowerCase();
    // no username or address holds a NUL character (PostgreSQL text cannot)
    if (normalised === '' || normalised.includes('\0')) return undefined;
    const column = normalised.includes('@') ? 'email' : 'username';
    const row = await this.#db<AccountRow>('accounts').whereRaw(`lower(${column}) = ?`, [normalised]).first();
    // a username may itself contain '@'
    if (!row && column === 'email') return this.#db<AccountRow>('accounts').whereRaw('lower(username) = ?', [normalised]).first();
    return row;
  }

  /** The account whose email address this is, compared as the unique index does (case-insensitively). */
  async findByEmail(email: string): Promise<Account | undefined> {
    if (email.includes('\0')) return undefined;
    const row = await this.#db<AccountRow>('accounts').whereRaw('lower(email) = lower(?)', [email.trim()]).first();
    return row ? toAccount(row) : undefined;
  }

  async findByLogin(login: string): Promise<Account | undefined> {
    const row = await this.#rowByLogin(login);
    return row ? toAccount(row) : undefined;
  }

  /**
   * The account when `password` is right; otherwise undefined. Unknown users, disabled users and
   * wrong passwords take the same path and about the same time.
   */
  async authenticate(login: string, password: string): Promise<Account | undefined> {
    return (await this.verifyLogin(login, password)).account;
  }

  /**
   * `authenticate` with the reason for a refusal (for the audit log, never for the user).
   * `refuse`, given the account a login names, may turn the attempt down before the password is
   * checked (a lockout); the same hashing work is done either way.
   */
  async verifyLogin(login: string, password: string, refuse?: (account: Account) => Promise<boolean>): Promise<LoginVerdict> {
    const row = await this.#rowByLogin(login);
    if (!row || !row.password_hash) {
      await this.#passwords.verifyDummy(password);
      return { account: undefined, reason: row ? 'no_password' : 'unknown_user' };
    }
    const account = toAccount(row);
    if (refuse && (await refuse(account))) {
      await this.#passwords.verifyDummy(password);
      return { account: undefined, reason: 'locked', named: account };
    }
    if (!(await this.#passwords.verify(row.password_hash, password))) return { account: undefined, reason: 'wrong_password', named: account };
    if (row.disabled) return { account: undefined, reason: 'disabled', named: account };
    return { account, reason: undefined };
  }

  /** Whether `password` is the account's current password (re-authentication for sensitive changes). */
  async checkPassword(id: string, password: string): Promise<boolean> {
    const row = await this.#db<AccountRow>('accounts').where({ id }).first('password_hash');
    if (!row?.password_hash) {
      await this.#passwords.verifyDummy(password);
      return false;
    }
    return this.#passwords.verify(row.password_hash, password);
  }

  /** The address the account's verification link was sent to is confirmed. */
  async markEmailVerified(id: string): Promise<void> {
    await this.#change(id, () => this.#db('accounts').where({ id }).update({ email_verified: true, updated_at: this.#db.fn.now() }));
  }

  /**
   * Sessions started and tokens issued before now are no longer honoured ("sign out everywhere"),
   * and no browser is trusted through the lockout any more.
   */
  async endSessionsBefore(id: string, at: Date): Promise<void> {
    await this.#change(id, () => this.#db('accounts').where({ id }).update({ sessions_valid_after: at, device_generation: this.#db.raw('device_generation + 1') }));
  }

  /**
   * Sets a new password. Browsers trusted through the lockout with the old one are trusted no
   * more; the account's new device generation is returned, for the browser that made the change.
   */
  async setPassword(id: string, password: string): Promise<number> {
    const owner = await this.#db<AccountRow>('accounts').where({ id }).first('username', 'email');
    if (!owner) throw new NotFound(`no account ${id}`);
    this.#policy.check(password, owner);
    const hash = await this.#passwords.hash(password);
    const [changed] = await this.#change(id, () =>
      this.#db('accounts')
        .where({ id })
        .update({ password_hash: hash, updated_at: this.#db.fn.now(), device_generation: this.#db.raw('device_generation + 1') })
        .returning<Array<{ device_generation: number }>>('device_generation'),
    );
    if (!changed) throw new NotFound(`no account ${id}`);
    return changed.device_generation;
  }

  /**
   * Changes the account's names and standard claims (null or '' removes one); updated_at moves,
   * so relying parties see the change in the ID token and userinfo.
   */
  async updateProfile(id: string, changes: AccountProfileChanges): Promise<Account> {
    const { name, given_name, family_name, ...profile } = changes;
    const names: Record<string, string | null> = {};
    for (const [column, value] of Object.entries({ name, given_name, family_name }) as Array<[(typeof NAME_COLUMNS)[number], unknown]>) {
      if (value === undefined) continue;
      if (value !== null && typeof value !== 'string') throw new InvalidRequest(`${column} must be a string`);
      const trimmed = value?.trim() ?? '';
      if (trimmed.length > 200) throw new InvalidRequest(`${column} must be at most 200 characters`);
      names[column] = trimmed === '' ? null : trimmed;
    }
    return this.update(id, { name: names.name, givenName: names.given_name, familyName: names.family_name, profile });
  }

  /** At most `limit` accounts by id, after `after` (keyset pagination). */
  async page(options: { after?: string | undefined; limit: number }): Promise<Account[]> {
    const query = this.#db<AccountRow>('accounts').orderBy('id').limit(options.limit);
    if (options.after !== undefined) query.where('id', '>', options.after);
    return (await query.select(...PUBLIC_COLUMNS)).map(toAccount);
  }

  /**
   * Changes an account's profile or whether it may sign in. `expect`, given the account as it is
   * (the row locked), may refuse the change (a stale ETag). A new email address is unverified
   * unless `emailVerified` says otherwise.
   */
  async update(id: string, changes: AccountChanges, expect?: (current: Account) => void): Promise<Account> {
    if (id.includes('\0')) throw new NotFound(`no account ${id}`);
    const update: Record<string, unknown> = {};
    if (changes.email !== undefined) {
      const email = changes.email?.trim() || null;
      if (email !== null && !EMAIL.test(email)) throw new InvalidRequest('email is not a valid address');
      update.email = email;
    }
    if (changes.emailVerified !== undefined) update.email_verified = changes.emailVerified;
    if (changes.name !== undefined) update.name = changes.name;
    if (changes.givenName !== undefined) update.given_name = changes.givenName;
    if (changes.familyName !== undefined) update.family_name = changes.familyName;
    if (changes.disabled !== undefined) update.disabled = changes.disabled;
    try {
      const row = await this.#change(id, () =>
        this.#db.transaction(async (trx) => {
          const found = await trx<AccountRow>('accounts').where({ id }).forUpdate().first(...PUBLIC_COLUMNS);
          if (!found) throw new NotFound(`no account ${id}`);
          expect?.(toAccount(found));
          if (changes.profile !== undefined) update.profile = JSON.stringify(applyProfileChanges(toAccount(found).profile, changes.profile));
          if ('email' in update && update.email !== found.email && changes.emailVerified === undefined) update.email_verified = false;
          const [changed] = await trx('accounts').where({ id }).update({ ...update, updated_at: trx.fn.now() }).returning(PUBLIC_COLUMNS as unknown as string[]);
          return changed as AccountRow;
        }),
      );
      return toAccount(row);
    } catch (error) {
      if (isUniqueViolation(error)) throw new IdentifierTaken('email', { cause: error });
      throw error;
    }
  }

  async list(): Promise<Account[]> {
    const rows = await this.#db<AccountRow>('accounts').orderBy('created_at');
    return rows.map(toAccount);
  }

  /** Deletes the account and everything issued to it in the durable tier. */
  async delete(id: string): Promise<void> {
    await this.#change(
      id,
      () =>
        this.#db.transaction(async (trx) => {
          const deleted = deletedRows(await trx('accounts').where({ id }).delete());
          if (deleted === 0) throw new NotFound(`no account ${id}`);
          await this.#logouts?.queueForAccount(id, 'account_deleted', trx);
          return trx('oidc_payloads')
            .whereIn('model', ['Grant', 'RefreshToken', 'Session'])
            .whereRaw("payload->>'accountId' = ?", [id])
            .delete()
            .returning<RemovedRecord[]>(['model', 'id', 'uid']);
        }),
      (removed) => removed,
    );
  }
}
