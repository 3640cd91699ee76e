import { generateSecret, verify as verifyCode } from 'otplib';
import type { Database } from '../store/db.ts';
import type { SecretEnvelope } from '../store/envelope.ts';
import type { KvStore } from '../store/kv/index.ts';
import { TOTP_SECRET_SEALED } from '../store/sealed-columns.ts';
import { Conflict, NotFound } from './errors.ts';
import { renderQrSvg } from './qr-code.ts';

// What the common authenticator apps read (RFC 6238 with SHA-1, 6 digits, 30 s steps).
const PERIOD_SECONDS = 30;
const DIGITS = 6;
/** steps accepted either side of the current one, for phones whose clock is off */
const DRIFT_STEPS = 1;
/** 160 bits, the HMAC-SHA1 block the RFC recommends */
const SECRET_BYTES = 20;
const LONGEST_INPUT = 32;

export interface TotpEnrolment {
  /** base32, for typing into an app that cannot scan */
  secret: string;
  otpauthUri: string;
  /** the otpauth URI as inline SVG markup */
  qrSvg: string;
}

export interface TotpStatus {
  enabled: boolean;
  enabledAt: Date | null;
  /** an enrolment was begun and not confirmed yet */
  pending: boolean;
}

export interface TotpOptions {
  db: Database;
  kv: KvStore;
  envelope: SecretEnvelope;
  /** the name authenticator apps show next to the account */
  issuer: string;
  /** milliseconds since the epoch; the system clock by default */
  now?: () => number;
}

interface SecondFactorRow {
  totp_secret_sealed: string | null;
  totp_enabled_at: Date | string | null;
}

/** Spaces removed, full-width digits folded; undefined unless exactly six digits remain. */
function normaliseCode(input: string): string | undefined {
  if (input.length > LONGEST_INPUT) return undefined;
  const code = input.normalize('NFKC').replace(/\s/g, '');
  return /^[0-9]{6}$/.test(code) ? code : undefined;
}

const stepKey = (accountId: string, step: number) => `totp:step:${accountId}:${step}`;

/**
 * Time-based one-time passwords (RFC 6238) as a second factor. The secret is stored sealed under
 * the master key and is handed out only while an enrolment is pending.
 *
 * Each accepted code's time step is recorded per account in the ephemeral tier; a code is refused
 * when its step, or any later step, has already been accepted. Replaying a code, or using an older
 * code after a newer one, therefore fails, also when the attempts race each other.
 */
export class Totp {
  readonly #db: Database;
  readonly #kv: KvStore;
  readonly #envelope: SecretEnvelope;
  readonly #issuer: string;
  readonly #now: () => number;

  constructor(options: TotpOptions) {
    this.#db = options.db;
    this.#kv = options.kv;
    this.#envelope = options.envelope;
    this.#issuer = options.issuer;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Starts (or restarts) enrolment with a fresh secret, replacing any pending one. The second
   * factor is off until `confirmEnrolment` sees a code from it. Refused when it is already on.
   */
  async beginEnrolment(accountId: string, accountLabel: string): Promise<TotpEnrolment> {
    const secret = generateSecret({ length: SECRET_BYTES });
    const updated = await this.#db('accounts')
      .where({ id: accountId })
      .whereNull('totp_enabled_at')
      .update({ totp_secret_sealed: this.#envelope.seal(secret, TOTP_SECRET_SEALED, accountId) })
      .returning('id');
    if (updated.length === 0) {
      const exists = await this.#db('accounts').where({ id: accountId }).first('id');
      if (exists) throw new Conflict('two-step verification is already on for this account');
      throw new NotFound(`no account ${accountId}`);
    }
    return this.#enrolment(secret, accountLabel);
  }

  /** The enrolment begun and not yet confirmed (to show the same QR code again), if there is one. */
  async pendingEnrolment(accountId: string, accountLabel: string): Promise<TotpEnrolment | undefined> {
    const row = await this.#row(accountId);
    if (!row?.totp_secret_sealed || row.totp_enabled_at !== null) return undefined;
    return this.#enrolment(this.#open(accountId, row.totp_secret_sealed), accountLabel);
  }

  /** Turns the second factor on when `code` comes from the pending secret; false changes nothing. */
  async confirmEnrolment(accountId: string, code: string): Promise<boolean> {
    const normalised = normaliseCode(code);
    if (normalised === undefined) return false;
    const row = await this.#row(accountId);
    if (!row?.totp_secret_sealed || row.totp_enabled_at !== null) return false;
    const step = await this.#matchingStep(this.#open(accountId, row.totp_secret_sealed), normalised);
    if (step === undefined || !(await this.#accept(accountId, step))) return false;
    // only the secret the code was checked against, in case the enrolment was restarted meanwhile
    const enabled = await this.#db('accounts')
      .where({ id: accountId, totp_secret_sealed: row.totp_secret_sealed })
      .whereNull('totp_enabled_at')
      .update({ totp_enabled_at: this.#db.fn.now() })
      .returning('id');
    return enabled.length === 1;
  }

  /** True when `code` is right for the account's enabled second factor and has not been used. */
  async verify(accountId: string, code: string): Promise<boolean> {
    const normalised = normaliseCode(code);
    if (normalised === undefined) return false;
    const row = await this.#row(accountId);
    if (!row?.totp_secret_sealed || row.totp_enabled_at === null) return false;
    const step = await this.#matchingStep(this.#open(accountId, row.totp_secret_sealed), normalised);
    return step !== undefined && this.#accept(accountId, step);
  }

  async isEnabled(accountId: string): Promise<boolean> {
    const row = await this.#row(accountId);
    return Boolean(row && row.totp_enabled_at !== null);
  }

  async status(accountId: string): Promise<TotpStatus> {
    const row = await this.#row(accountId);
    if (!row) throw new NotFound(`no account ${accountId}`);
    const enabledAt = row.totp_enabled_at === null ? null : new Date(row.totp_enabled_at);
    return { enabled: enabledAt !== null, enabledAt, pending: enabledAt === null && row.totp_secret_sealed !== null };
  }

  /**
   * Turns the second factor off and forgets the secret (a pending enrolment too). This checks
   * nothing: the caller must first have verified the account's password and a current code (or
   * be an administrator), and clears the recovery codes itself if they should go as well.
   */
  async disable(accountId: string): Promise<void> {
    const updated = await this.#db('accounts')
      .where({ id: accountId })
      .update({ totp_secret_sealed: null, totp_enabled_at: null })
      .returning('id');
    if (updated.length === 0) throw new NotFound(`no account ${accountId}`);
    // the old secret is gone, so its used steps no longer protect anything; a new secret must not trip on them
    const current = this.#currentStep();
    const steps = [];
    for (let step = current - DRIFT_STEPS - 2; step <= current + DRIFT_STEPS + 1; step += 1) steps.push(stepKey(accountId, step));
    await this.#kv.del(steps);
  }

  async #row(accountId: string): Promise<SecondFactorRow | undefined> {
    return this.#db<SecondFactorRow & { id: string }>('accounts').where({ id: accountId }).first('totp_secret_sealed', 'totp_enabled_at');
  }

  #open(accountId: string, sealed: string): string {
    return this.#envelope.open(sealed, TOTP_SECRET_SEALED, accountId);
  }

  #currentStep(): number {
    return Math.floor(this.#now() / 1000 / PERIOD_SECONDS);
  }

  async #enrolment(secret: string, accountLabel: string): Promise<TotpEnrolment> {
    const issuer = encodeURIComponent(this.#issuer);
    const label = `${issuer}:${encodeURIComponent(accountLabel)}`;
    const otpauthUri = `otpauth://totp/${label}?secret=${secret}&issuer=${issuer}&algorithm=SHA1&digits=${DIGITS}&period=${PERIOD_SECONDS}`;
    return { secret, otpauthUri, qrSvg: await renderQrSvg(otpauthUri) };
  }

  /** The time step `code` belongs to within the drift window, compared in constant time by otplib. */
  async #matchingStep(secret: string, code: string): Promise<number | undefined> {
    const epoch = Math.floor(this.#now() / 1000);
    const result = await verifyCode({
      secret,
      token: code,
      algorithm: 'sha1',
      digits: DIGITS,
      period: PERIOD_SECONDS,
      epoch,
      epochTolerance: DRIFT_STEPS * PERIOD_SECONDS,
    });
    return result.valid ? Math.floor(epoch / PERIOD_SECONDS) + result.delta : undefined;
  }

  /**
   * Records `step` as used. True only for the one caller that records it first, and only when no
   * later step was recorded before: steps are accepted in strictly increasing order per account.
   */
  async #accept(accountId: string, step: number): Promise<boolean> {
    const nowSeconds = this.#now() / 1000;
    // kept until no step up to this one can pass any more, plus one step for clocks differing between instances
    const ttlSeconds = Math.max(1, Math.ceil((step + DRIFT_STEPS + 2) * PERIOD_SECONDS - nowSeconds));
    if (!(await this.#kv.setIfAbsent(stepKey(accountId, step), String(Math.floor(nowSeconds)), ttlSeconds))) return false;
    const later = [];
    for (let next = step + 1; next <= step + 2 * DRIFT_STEPS; next += 1) later.push(stepKey(accountId, next));
    const recorded = await this.#kv.getMany(later);
    return recorded.every((value) => value === undefined);
  }
}
