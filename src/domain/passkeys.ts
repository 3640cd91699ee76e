import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransport,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { isIP } from 'node:net';
import type { Database } from '../store/db.ts';
import type { KvStore } from '../store/kv/index.ts';

export type UserVerificationPolicy = 'required' | 'preferred' | 'discouraged';

export interface PasskeyOptions {
  /** the relying-party id: the issuer's host name */
  rpId: string;
  /** the issuer's origin, the only one an assertion may come from */
  origin: string;
  userVerification: UserVerificationPolicy;
}

export interface Passkey {
  id: string;
  accountId: string;
  name: string;
  transports: string[];
  /** 'multiDevice': synced between devices (software key); 'singleDevice': bound to one authenticator */
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
  createdAt: Date;
  lastUsedAt: Date | null;
}

/** Why an assertion or a registration was refused; every one is audited. */
export type PasskeyRefusal =
  | 'malformed'
  | 'expired_challenge'
  | 'wrong_challenge'
  | 'replayed'
  | 'wrong_origin'
  | 'unknown_credential'
  | 'other_account'
  | 'bad_signature'
  | 'user_not_verified'
  | 'counter_regressed'
  | 'already_registered';

export class PasskeyRefused extends Error {
  override name = 'PasskeyRefused';
  readonly reason: PasskeyRefusal;
  /** the account the credential belongs to, when it is known */
  readonly accountId: string | undefined;
  readonly credentialId: string | undefined;

  constructor(reason: PasskeyRefusal, detail: { accountId?: string | undefined; credentialId?: string | undefined; cause?: unknown } = {}) {
    super(`passkey refused: ${reason}`, { cause: detail.cause });
    this.reason = reason;
    this.accountId = detail.accountId;
    this.credentialId = detail.credentialId;
  }
}

export interface VerifiedAssertion {
  passkey: Passkey;
  userVerified: boolean;
}

interface PasskeyRow {
  id: string;
  account_id: string;
  user_handle: string;
  public_key: Buffer | Uint8Array;
  counter: string | number;
  transports: string[] | string;
  name: string;
  device_type: string;
  backed_up: boolean;
  created_at: Date | string;
  last_used_at: Date | string | null;
}

/** A challenge is good for this long, and only once. */
export const CHALLENGE_TTL_SECONDS = 300;
export const MAX_PASSKEYS = 20;
export const MAX_NAME_LENGTH = 64;

const challengeKey = (ceremony: string) => `passkey:challenge:${ceremony}`;
const usedKey = (challenge: string) => `passkey:used:${challenge}`;

function toPasskey(row: PasskeyRow): Passkey {
  return {
    id: row.id,
    accountId: row.account_id,
    name: row.name,
    transports: typeof row.transports === 'string' ? (JSON.parse(row.transports) as string[]) : row.transports,
    deviceType: row.device_type === 'multiDevice' ? 'multiDevice' : 'singleDevice',
    backedUp: row.backed_up,
    createdAt: new Date(row.created_at),
    lastUsedAt: row.last_used_at ? new Date(row.last_used_at) : null,
  };
}

/** The user handle of an account: its id, which is random and says nothing about the person. */
const userHandleOf = (accountId: string) => Buffer.from(accountId, 'utf8').toString('base64url');

function clientData(response: { response?: { clientDataJSON?: unknown } }): { challenge?: unknown; origin?: unknown; type?: unknown } {
  try {
    const raw = response.response?.clientDataJSON;
    if (typeof raw !== 'string') throw new TypeError('no clientDataJSON');
    const parsed: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null) throw new TypeError('clientDataJSON is not an object');
    return parsed as { challenge?: unknown; origin?: unknown; type?: unknown };
  } catch (error) {
    throw new PasskeyRefused('malformed', { cause: error });
  }
}

/** Reads a browser's JSON answer; anything but an object is malformed. */
export function parseCeremonyResponse<T>(raw: unknown): T {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 16_384) throw new PasskeyRefused('malformed');
  try {
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { id?: unknown }).id !== 'string') throw new TypeError('not a credential');
    return parsed as T;
  } catch (error) {
    if (error instanceof PasskeyRefused) throw error;
    throw new PasskeyRefused('malformed', { cause: error });
  }
}

/**
 * WebAuthn passkeys: registration and assertion ceremonies (@simplewebauthn/server), credentials in
 * the durable tier, challenges in the ephemeral tier — each tied to one ceremony (a sign-in's
 * interaction, an account's registration), short-lived and good once.
 */
export class Passkeys {
  readonly #db: Database;
  readonly #kv: KvStore;
  readonly #options: PasskeyOptions;

  constructor(db: Database, kv: KvStore, options: PasskeyOptions) {
    this.#db = db;
    this.#kv = kv;
    this.#options = options;
  }

  /** WebAuthn takes a domain as relying-party id: an issuer at an IP address gets no passkeys. */
  get available(): boolean {
    return isIP(this.#options.rpId) === 0;
  }

  get userVerification(): UserVerificationPolicy {
    return this.#options.userVerification;
  }

  async list(accountId: string): Promise<Passkey[]> {
    const rows = await this.#db<PasskeyRow>('passkeys').where({ account_id: accountId }).orderBy([{ column: 'created_at', order: 'asc' }, { column: 'id', order: 'asc' }]);
    return rows.map(toPasskey);
  }

  async count(accountId: string): Promise<number> {
    const row = await this.#db('passkeys').where({ account_id: accountId }).count<{ count: string | number }>({ count: '*' }).first();
    return Number(row?.count ?? 0);
  }

  /** True when it was the account's and is now gone. */
  async remove(accountId: string, id: string): Promise<boolean> {
    const removed: unknown[] = await this.#db('passkeys').where({ account_id: accountId, id }).del().returning('id');
    return removed.length > 0;
  }

  async #saveChallenge(ceremony: string, challenge: string): Promise<void> {
    await this.#kv.set(challengeKey(ceremony), challenge, CHALLENGE_TTL_SECONDS);
  }

  /**
   * The challenge of `ceremony`, checked against what the browser signed and then spent: a second
   * use of the same challenge (a replayed response) is refused.
   */
  async #spendChallenge(ceremony: string, signed: unknown, type: unknown, expectedType: string, origin: unknown): Promise<string> {
    const stored = await this.#kv.get(challengeKey(ceremony));
    if (typeof signed !== 'string') throw new PasskeyRefused('malformed');
    if (!(await this.#kv.setIfAbsent(usedKey(signed), '1', CHALLENGE_TTL_SECONDS))) throw new PasskeyRefused('replayed');
    if (!stored) throw new PasskeyRefused('expired_challenge');
    if (signed !== stored) throw new PasskeyRefused('wrong_challenge');
    await this.#kv.del([challengeKey(ceremony)]);
    if (type !== expectedType) throw new PasskeyRefused('malformed');
    if (origin !== this.#options.origin) throw new PasskeyRefused('wrong_origin');
    return stored;
  }

  /** Options for `navigator.credentials.create()`: a discoverable credential, attestation `none`. */
  async registrationOptions(ceremony: string, account: { id: string; username: string; name?: string | null | undefined }): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const existing = await this.list(account.id);
    const options = await generateRegistrationOptions({
      rpName: 'Postern',
      rpID: this.#options.rpId,
      userName: account.username,
      userDisplayName: account.name || account.username,
      userID: Buffer.from(account.id, 'utf8'),
      attestationType: 'none',
      excludeCredentials: existing.map((passkey) => ({ id: passkey.id, transports: passkey.transports as AuthenticatorTransport[] })),
      authenticatorSelection: { residentKey: 'required', userVerification: this.#options.userVerification },
      timeout: CHALLENGE_TTL_SECONDS * 1000,
    });
    await this.#saveChallenge(ceremony, options.challenge);
    return options;
  }

  async register(ceremony: string, accountId: string, rawResponse: unknown, name: string): Promise<Passkey> {
    const response = parseCeremonyResponse<RegistrationResponseJSON>(rawResponse);
    const data = clientData(response);
    const challenge = await this.#spendChallenge(ceremony, data.challenge, data.type, 'webauthn.create', data.origin);
    let verified;
    try {
      verified = await verifyRegistrationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: this.#options.origin,
        expectedRPID: this.#options.rpId,
        requireUserVerification: this.#options.userVerification === 'required',
      });
    } catch (error) {
      throw new PasskeyRefused('bad_signature', { accountId, cause: error });
    }
    if (!verified.verified || !verified.registrationInfo) throw new PasskeyRefused('bad_signature', { accountId });
    const { credential, credentialDeviceType, credentialBackedUp } = verified.registrationInfo;
    if ((await this.count(accountId)) >= MAX_PASSKEYS) throw new PasskeyRefused('already_registered', { accountId });
    const row = {
      id: credential.id,
      account_id: accountId,
      user_handle: userHandleOf(accountId),
      public_key: Buffer.from(credential.publicKey),
      counter: credential.counter,
      transports: JSON.stringify(credential.transports ?? []),
      name: name.trim().slice(0, MAX_NAME_LENGTH) || 'Passkey',
      device_type: credentialDeviceType,
      backed_up: credentialBackedUp,
      created_at: new Date(),
      last_used_at: null,
    };
    const inserted = await this.#db('passkeys').insert(row).onConflict('id').ignore().returning('id');
    if (inserted.length === 0) throw new PasskeyRefused('already_registered', { accountId, credentialId: credential.id });
    return toPasskey({ ...row, transports: credential.transports ?? [] });
  }

  /**
   * Options for `navigator.credentials.get()`. Without `accountId`: any discoverable credential
   * (passwordless sign-in, the browser's autofill); with it: one of that account's passkeys.
   */
  async authenticationOptions(ceremony: string, accountId?: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const allow = accountId ? await this.list(accountId) : [];
    const options = await generateAuthenticationOptions({
      rpID: this.#options.rpId,
      userVerification: this.#options.userVerification,
      allowCredentials: allow.map((passkey) => ({ id: passkey.id, transports: passkey.transports as AuthenticatorTransport[] })),
      timeout: CHALLENGE_TTL_SECONDS * 1000,
    });
    await this.#saveChallenge(ceremony, options.challenge);
    return options;
  }

  /**
   * Checks an assertion for `ceremony`: its challenge, origin, credential, signature and counter.
   * With `accountId`, the credential must be that account's. A counter that does not move past the
   * stored one (when either is non-zero) means a cloned authenticator: refused.
   */
  async verify(ceremony: string, rawResponse: unknown, accountId?: string): Promise<VerifiedAssertion> {
    const response = parseCeremonyResponse<AuthenticationResponseJSON>(rawResponse);
    const row = response.id.length <= 1024 ? await this.#db<PasskeyRow>('passkeys').where({ id: response.id }).first() : undefined;
    // every refusal names the account whose key it was, for its lockout and its audit trail
    const detail = { accountId: row?.account_id ?? accountId, credentialId: row?.id };
    let challenge: string;
    try {
      const data = clientData(response);
      challenge = await this.#spendChallenge(ceremony, data.challenge, data.type, 'webauthn.get', data.origin);
    } catch (error) {
      if (error instanceof PasskeyRefused) throw new PasskeyRefused(error.reason, { ...detail, cause: error.cause });
      throw error;
    }
    if (!row) throw new PasskeyRefused('unknown_credential', { accountId, credentialId: response.id });
    if (accountId && row.account_id !== accountId) throw new PasskeyRefused('other_account', { accountId, credentialId: row.id });
    const userHandle = response.response.userHandle;
    if (userHandle && userHandle !== row.user_handle) throw new PasskeyRefused('other_account', detail);
    const stored = Number(row.counter);
    let verified;
    try {
      verified = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: this.#options.origin,
        expectedRPID: this.#options.rpId,
        // the counter is compared below, where a regression can be told apart from a bad signature
        credential: { id: row.id, publicKey: new Uint8Array(row.public_key), counter: 0, transports: toPasskey(row).transports as AuthenticatorTransport[] },
        requireUserVerification: this.#options.userVerification === 'required',
      });
    } catch (error) {
      const reason = error instanceof Error && /user could not be verified/i.test(error.message) ? 'user_not_verified' : 'bad_signature';
      throw new PasskeyRefused(reason, { ...detail, cause: error });
    }
    if (!verified.verified) throw new PasskeyRefused('bad_signature', detail);
    const { newCounter, userVerified, credentialBackedUp } = verified.authenticationInfo;
    if ((newCounter > 0 || stored > 0) && newCounter <= stored) throw new PasskeyRefused('counter_regressed', detail);
    // conditional: of two assertions racing with the same counter, one moves it
    const updated: unknown[] = await this.#db('passkeys')
      .where({ id: row.id })
      .andWhere('counter', '<', newCounter === 0 ? 1 : newCounter)
      .update({ counter: newCounter, last_used_at: new Date(), backed_up: credentialBackedUp })
      .returning('id');
    if (updated.length === 0) throw new PasskeyRefused('counter_regressed', detail);
    return { passkey: { ...toPasskey(row), backedUp: credentialBackedUp, lastUsedAt: new Date() }, userVerified };
  }
}
