import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Database } from '../store/db.ts';
import type { SecretEnvelope } from '../store/envelope.ts';
import type { ProcessCaches } from '../store/process-caches.ts';
import { SIGNING_KEY_SEALED } from '../store/sealed-columns.ts';
import type { AuditLog } from './audit.ts';
import { Conflict, NotFound } from './errors.ts';

export type KeyStatus = 'next' | 'current' | 'previous' | 'retired';

/** A signing key as operators see it: never its private part. */
export interface SigningKeyInfo {
  kid: string;
  alg: string;
  status: KeyStatus;
  /** when it was made, and published if it was made as the next key */
  createdAt: Date;
  /** when it began to sign */
  activatedAt: Date | undefined;
  /** when it stopped signing (became previous) */
  deactivatedAt: Date | undefined;
  /** when it left the JWKS */
  retiredAt: Date | undefined;
  /** the public JWK as the JWKS publishes it */
  publicJwk: JWK;
}

/** When keys move on their own; see README "Operations → Signing keys". */
export interface RotationPolicy {
  /** seconds a key signs before the schedule replaces it; null: only when an operator rotates */
  intervalSeconds: number | null;
  /**
   * seconds a next key must have been published before it may sign: the JWKS cache lifetime plus
   * the time every instance may take to publish it
   */
  publishLeadSeconds: number;
  /**
   * seconds a previous key stays published after it stopped signing: the longest lifetime of a
   * token it may have signed, plus the time every instance may take to stop signing with it
   */
  keepPreviousSeconds(): Promise<number>;
}

/** Who moved a key, for the audit trail. */
export type KeyChangeActor = 'schedule' | 'operator';

export interface RotationResult {
  /** the key that signs from now on */
  current: string;
  /** the key that signed until now, still published */
  previous: string | undefined;
  /** the key published now to sign at the next rotation */
  next: string;
}

export interface ScheduleOutcome {
  /** keys made because none existed: the first current key, or a next key */
  created: string[];
  rotated: RotationResult | undefined;
  /** previous keys retired because every token they signed has expired */
  retired: string[];
}

/** A rotation asked for before the next key has been published long enough. */
export class KeyRotationNotReady extends Conflict {
  override name = 'KeyRotationNotReady';
  readonly kid: string;
  readonly readyAt: Date;

  constructor(kid: string, readyAt: Date) {
    super(
      `the next key ${kid} has not been published long enough: relying parties caching the JWKS may not know it before ${readyAt.toISOString()}; rotate then, or force the rotation now`,
    );
    this.kid = kid;
    this.readyAt = readyAt;
  }
}

interface KeyRow {
  kid: string;
  alg: string;
  status: KeyStatus;
  public_jwk: JWK | string;
  private_jwk_sealed: string;
  created_at: Date;
  activated_at: Date | null;
  deactivated_at: Date | null;
  retired_at: Date | null;
}

interface GeneratedKey {
  kid: string;
  publicJwk: JWK;
  sealed: string;
}

const ALG = 'RS256';
// JWKS order: the engine signs with the first key of an algorithm, so `current` leads.
const ORDER: Record<KeyStatus, number> = { current: 0, next: 1, previous: 2, retired: 3 };
/** The name under which key changes are announced to every process (src/store/process-caches.ts). */
export const SIGNING_KEYS_CACHE = 'signing-keys';

function date(value: Date | string | null): Date | undefined {
  return value === null ? undefined : new Date(value);
}

function info(row: KeyRow): SigningKeyInfo {
  return {
    kid: row.kid,
    alg: row.alg,
    status: row.status,
    createdAt: new Date(row.created_at),
    activatedAt: date(row.activated_at),
    deactivatedAt: date(row.deactivated_at),
    retiredAt: date(row.retired_at),
    publicJwk: typeof row.public_jwk === 'string' ? (JSON.parse(row.public_jwk) as JWK) : row.public_jwk,
  };
}

export interface SigningKeysOptions {
  db: Database;
  envelope: SecretEnvelope;
  audit: AuditLog;
  /** every change is announced through it, so running instances rebuild their keystore at once */
  processCaches: ProcessCaches;
  policy: RotationPolicy;
}

/**
 * The signing keys' lifecycle: next (published, not signing) → current (signs) → previous
 * (published until every token it signed has expired) → retired (kept for audit, not published).
 * Every change runs in one transaction holding the rows it changes, with conditional updates, so
 * of several instances checking the schedule at the same moment exactly one rotates.
 */
export class SigningKeys {
  readonly #db: Database;
  readonly #envelope: SecretEnvelope;
  readonly #audit: AuditLog;
  readonly #caches: ProcessCaches;
  readonly #policy: RotationPolicy;

  constructor(options: SigningKeysOptions) {
    this.#db = options.db;
    this.#envelope = options.envelope;
    this.#audit = options.audit;
    this.#caches = options.processCaches;
    this.#policy = options.policy;
  }

  async #generate(): Promise<GeneratedKey> {
    const { privateKey } = await generateKeyPair(ALG, { modulusLength: 2048, extractable: true });
    const jwk = await exportJWK(privateKey);
    const kid = await calculateJwkThumbprint(jwk);
    const privateJwk: JWK = { ...jwk, kid, alg: ALG, use: 'sig' };
    const { kty, n, e } = privateJwk;
    return {
      kid,
      publicJwk: { kty, n, e, kid, alg: ALG, use: 'sig' },
      sealed: this.#envelope.seal(JSON.stringify(privateJwk), SIGNING_KEY_SEALED, kid),
    };
  }

  #insert(db: Database, key: GeneratedKey, status: 'current' | 'next') {
    return db('signing_keys')
      .insert({
        kid: key.kid,
        alg: ALG,
        status,
        public_jwk: JSON.stringify(key.publicJwk),
        private_jwk_sealed: key.sealed,
        activated_at: status === 'current' ? db.fn.now() : null,
      })
      // another instance may have made it first: one current and one next per algorithm
      .onConflict(db.raw(`(alg) where status = '${status}'`))
      .ignore()
      .returning('kid');
  }

  /** Announces a change to every process (this one included) before and after `write`. */
  #changing<T>(write: () => Promise<T>): Promise<T> {
    return this.#caches.changing(SIGNING_KEYS_CACHE, 'all', write);
  }

  async #exists(status: 'current' | 'next'): Promise<boolean> {
    return (await this.#db('signing_keys').where({ alg: ALG, status }).first('kid')) !== undefined;
  }

  /** Makes the key of `status` when there is none; its kid when this call made it. */
  async #ensure(status: 'current' | 'next'): Promise<string | undefined> {
    if (await this.#exists(status)) return undefined;
    const key = await this.#generate();
    const inserted = await this.#changing(() => this.#insert(this.#db, key, status));
    return inserted.length > 0 ? key.kid : undefined;
  }

  /** Makes sure a current RS256 key exists (generating one on first start). */
  async ensureCurrent(): Promise<void> {
    await this.#ensure('current');
  }

  /** Every key, retired ones included: current, next, previous, retired; newest first within each. */
  async list(): Promise<SigningKeyInfo[]> {
    const rows = await this.#db<KeyRow>('signing_keys').select('*');
    return rows
      .sort((a, b) => ORDER[a.status] - ORDER[b.status] || new Date(b.created_at).getTime() - new Date(a.created_at).getTime())
      .map(info);
  }

  /** When the key signing now began to sign (for a "signing key age" gauge); undefined before the first start. */
  async currentActivatedAt(): Promise<Date | undefined> {
    const row = await this.#db<KeyRow>('signing_keys').where({ alg: ALG, status: 'current' }).first('activated_at', 'created_at');
    return row ? new Date(row.activated_at ?? row.created_at) : undefined;
  }

  /** The current key's id and when it became current (null for a key made before that was recorded). */
  async current(): Promise<{ kid: string; activatedAt: Date | null } | undefined> {
    const row = await this.#db('signing_keys').where({ alg: ALG, status: 'current' }).first<{ kid: string; activated_at: Date | null } | undefined>('kid', 'activated_at');
    return row && { kid: row.kid, activatedAt: row.activated_at === null ? null : new Date(row.activated_at) };
  }

  /** Private JWKs for the engine: current first, then next and previous (all published in the JWKS). */
  async privateJwks(): Promise<JWK[]> {
    const rows = await this.#db<KeyRow>('signing_keys').whereIn('status', ['current', 'next', 'previous']);
    return rows
      .sort((a, b) => ORDER[a.status] - ORDER[b.status] || new Date(b.created_at).getTime() - new Date(a.created_at).getTime())
      .map((row) => JSON.parse(this.#envelope.open(row.private_jwk_sealed, SIGNING_KEY_SEALED, row.kid)) as JWK);
  }

  /**
   * The next key signs from now on, the current one becomes previous, and a new next key is
   * published. Without `now`, only once the next key has been published for the policy's lead
   * (KeyRotationNotReady otherwise; a next key is published first if there was none).
   */
  async rotate(options: { now?: boolean; actor?: string } = {}): Promise<RotationResult> {
    await this.ensureCurrent();
    await this.#ensure('next');
    const result = await this.#rotate({ force: options.now === true, onlyIfDue: false, actor: options.actor });
    if (!result) throw new Conflict('another rotation ran at the same moment: see postern keys list');
    return result;
  }

  async #rotate(options: { force: boolean; onlyIfDue: boolean; actor?: string | undefined }): Promise<RotationResult | undefined> {
    const successor = await this.#generate();
    const { intervalSeconds, publishLeadSeconds } = this.#policy;
    return this.#changing(() =>
      this.#db.transaction(async (trx) => {
        // ages by the database's clock, the one every instance shares
        const rows: Array<KeyRow & { age: number; signing_for: number | null }> = await trx('signing_keys')
          .where({ alg: ALG })
          .whereIn('status', ['current', 'next'])
          .forUpdate()
          .select('*', trx.raw('extract(epoch from now() - created_at)::float8 as age'), trx.raw('extract(epoch from now() - coalesce(activated_at, created_at))::float8 as signing_for'));
        const current = rows.find((row) => row.status === 'current');
        const next = rows.find((row) => row.status === 'next');
        // another instance rotated meanwhile and its new next key is not visible to this statement
        if (!current || !next) return undefined;
        if (options.onlyIfDue && (intervalSeconds === null || Number(current.signing_for) < intervalSeconds)) return undefined;
        const waitSeconds = publishLeadSeconds - Number(next.age);
        if (waitSeconds > 0 && !options.force) {
          if (options.onlyIfDue) return undefined;
          throw new KeyRotationNotReady(next.kid, new Date(Date.now() + waitSeconds * 1000));
        }
        const demoted = await trx('signing_keys').where({ kid: current.kid, status: 'current' }).update({ status: 'previous', deactivated_at: trx.fn.now() });
        const promoted = await trx('signing_keys').where({ kid: next.kid, status: 'next' }).update({ status: 'current', activated_at: trx.fn.now() });
        if (demoted !== 1 || promoted !== 1) throw new Conflict('the signing keys changed during the rotation; try again');
        await this.#insert(trx, successor, 'next');
        const result: RotationResult = { current: next.kid, previous: current.kid, next: successor.kid };
        await this.#auditIn(trx, 'signing_key.rotated', { ...result, by: options.onlyIfDue ? 'schedule' : 'operator', early: waitSeconds > 0 }, options.actor);
        return result;
      }),
    );
  }

  /**
   * Takes a previous (or next) key out of the JWKS for good: tokens it signed are refused from
   * then on. The row stays for audit. The current key must be rotated out first.
   */
  async retire(kid: string, actor?: string): Promise<SigningKeyInfo> {
    const retired = await this.#changing(() =>
      this.#db.transaction(async (trx) => {
        const row: KeyRow | undefined = await trx('signing_keys').where({ kid }).forUpdate().first('*');
        if (!row) throw new NotFound(`no signing key with kid ${kid}`);
        if (row.status === 'retired') throw new Conflict(`the signing key ${kid} is retired already`);
        if (row.status === 'current') throw new Conflict(`the signing key ${kid} signs now: rotate first (postern keys rotate), then retire it`);
        const [updated] = await trx('signing_keys').where({ kid, status: row.status }).update({ status: 'retired', retired_at: trx.fn.now() }).returning('*');
        await this.#auditIn(trx, 'signing_key.retired', { kid, was: row.status, by: 'operator' }, actor);
        return info(updated as KeyRow);
      }),
    );
    // a retired next key is replaced at once, so the next rotation still has a published successor
    await this.#ensure('next');
    return retired;
  }

  /**
   * What every instance runs at start and then periodically: makes the first current key and a
   * next key when missing, rotates when the current key has signed for the interval and the next
   * one has been published for the lead, and retires previous keys whose tokens have all expired.
   */
  async checkSchedule(): Promise<ScheduleOutcome> {
    const created: string[] = [];
    for (const status of ['current', 'next'] as const) {
      const kid = await this.#ensure(status);
      if (kid) created.push(kid);
    }
    const rotated = this.#policy.intervalSeconds === null ? undefined : await this.#rotateIfDue();
    const retired = await this.#retireExpired();
    return { created, rotated, retired };
  }

  async #rotateIfDue(): Promise<RotationResult | undefined> {
    const { intervalSeconds, publishLeadSeconds } = this.#policy;
    // a cheap look first: the rotation itself generates a key and takes locks
    const due = await this.#db('signing_keys')
      .where({ alg: ALG })
      .whereIn('status', ['current', 'next'])
      .select('status', this.#db.raw('extract(epoch from now() - created_at)::float8 as age'), this.#db.raw('extract(epoch from now() - coalesce(activated_at, created_at))::float8 as signing_for'));
    const current = due.find((row: { status: string }) => row.status === 'current') as { signing_for: number } | undefined;
    const next = due.find((row: { status: string }) => row.status === 'next') as { age: number } | undefined;
    if (!current || !next || Number(current.signing_for) < intervalSeconds! || Number(next.age) < publishLeadSeconds) return undefined;
    return this.#rotate({ force: false, onlyIfDue: true });
  }

  async #retireExpired(): Promise<string[]> {
    const keepSeconds = await this.#policy.keepPreviousSeconds();
    const expired = this.#db('signing_keys').where({ status: 'previous' }).where('deactivated_at', '<=', this.#db.raw("now() - make_interval(secs => ?)", [keepSeconds]));
    if (!(await expired.clone().first('kid'))) return [];
    return this.#changing(() =>
      this.#db.transaction(async (trx) => {
        const rows: Array<{ kid: string }> = await trx('signing_keys')
          .where({ status: 'previous' })
          .where('deactivated_at', '<=', trx.raw('now() - make_interval(secs => ?)', [keepSeconds]))
          .update({ status: 'retired', retired_at: trx.fn.now() })
          .returning('kid');
        for (const { kid } of rows) await this.#auditIn(trx, 'signing_key.retired', { kid, was: 'previous', by: 'schedule' });
        return rows.map(({ kid }) => kid);
      }),
    );
  }

  /** `actor`: who asked, when it was an admin API client (`client:<id>`). */
  async #auditIn(trx: Database, type: string, details: Record<string, unknown>, actor?: string): Promise<void> {
    await this.#audit.record({ type, details, ...(actor ? { actor } : {}) }, trx);
  }
}
