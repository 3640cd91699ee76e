import { createHmac, createSecretKey } from 'node:crypto';
import type { AdapterPayload } from 'oidc-provider';

/**
 * Models whose id is the token itself: whoever holds it can redeem it. Postern stores each under
 * a keyed hash of its value and keeps the value out of the payload, so a database dump, a backup,
 * the WAL or a Redis snapshot yields nothing to present. Sessions, grants and interactions are
 * looked up by the engine through signed cookies or ids that are not bearer credentials on their
 * own, and are listed by id on the account pages; they stay as they are.
 */
export const HASHED_MODELS: ReadonlySet<string> = new Set([
  'AccessToken',
  'AuthorizationCode',
  'ClientCredentials',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PushedAuthorizationRequest',
  'PreAuthorizedCode',
  'RegistrationAccessToken',
  'InitialAccessToken',
]);

/**
 * What the engine gets as the `jti` of a record it found by something other than its value (a
 * device's user code): the stored id with this mark, which `storageId` passes through unhashed.
 * Only the engine's own writes (save, consume, destroy) carry it back; a value presented by a
 * client is always hashed, so the mark cannot be used to name a stored row.
 */
const STORED_ID_MARK = '~stored:';

export interface TokenIds {
  /** the id a token's record is stored under */
  storageId(value: string): string;
  /** the same, for an id the engine hands back: a marked stored id stays as it is */
  storageIdOf(jti: string): string;
  /** the payload as stored: without the token value */
  toStored(value: string, payload: AdapterPayload): AdapterPayload;
  /** the payload as the engine expects it, found by its value */
  fromStored(value: string, payload: AdapterPayload): AdapterPayload;
  /** the payload as the engine expects it, found by another key (a device's user code): its value is not known */
  fromStoredByOtherKey(payload: AdapterPayload): AdapterPayload;
}

/** A record found by another key names its own stored id (only records that have such a key). */
interface StoredPayload extends AdapterPayload {
  storedId?: string;
}

export function createTokenIds(key: Buffer): TokenIds {
  // a key object once: hashing with raw bytes re-imports the key on every call (on every token request)
  const secret = createSecretKey(key);
  const storageId = (value: string) => createHmac('sha256', secret).update(value).digest('base64url');
  return {
    storageId,
    storageIdOf: (jti) => (jti.startsWith(STORED_ID_MARK) ? jti.slice(STORED_ID_MARK.length) : storageId(jti)),
    toStored(value, payload) {
      if (payload.jti !== value) return payload;
      const { jti: _value, ...rest } = payload;
      return payload.userCode ? ({ ...rest, storedId: storageId(value) } satisfies StoredPayload) : rest;
    },
    fromStored: (value, payload) => (payload.jti === undefined ? { ...payload, jti: value } : payload),
    fromStoredByOtherKey(payload) {
      const { storedId } = payload as StoredPayload;
      return payload.jti === undefined && storedId ? { ...payload, jti: `${STORED_ID_MARK}${storedId}` } : payload;
    },
  };
}
