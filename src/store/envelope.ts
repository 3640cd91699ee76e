import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { SealedColumn } from './sealed-columns.ts';

/**
 * AES-256-GCM envelope for secrets at rest (signing keys, client secrets, TOTP secrets).
 *
 * Sealed form: `v2.<iv>.<tag>.<ciphertext>`, base64url parts, under a key derived from the master
 * key for this one use; the value's table, column and row are its additional authenticated data,
 * so a sealed value copied to another row or column does not open. Values of the first format
 * (`v1.`: the master key itself, bound to a purpose only) still open; every write seals anew, and
 * `postern reseal` converts the rest.
 */
export interface SecretEnvelope {
  seal(plaintext: string, column: SealedColumn, row: string): string;
  open(sealed: string, column: SealedColumn, row: string): string;
  /** false for a value of the first format, which `postern reseal` converts */
  isCurrent(sealed: string): boolean;
  /** true when the value is in the current format and sealed under the current master key */
  sealedUnderCurrentKey(sealed: string, column: SealedColumn, row: string): boolean;
  /** A purpose-bound key derived from the master key (cookie keys, token id HMACs). */
  derive(purpose: string, length?: number): Buffer;
}

export class EnvelopeError extends Error {
  override name = 'EnvelopeError';
}

const CURRENT = 'v2';
const LEGACY = 'v1';
// derive() prefixes every purpose with "postern:", so no purpose can yield this key
const ENCRYPTION_KEY_INFO = 'postern-envelope:aes-256-gcm:v2';

/** Length-prefixed by JSON: no table, column and row can be read as another. */
function boundTo(column: SealedColumn, row: string): Buffer {
  return Buffer.from(JSON.stringify([column.table, column.column, row]));
}

function encrypt(key: Buffer, version: string, plaintext: string, aad: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [version, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
}

function decrypt(key: Buffer, parts: { iv: string; tag: string; ciphertext: string }, aad: Buffer): string {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(parts.iv, 'base64url'));
    decipher.setAAD(aad);
    decipher.setAuthTag(Buffer.from(parts.tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(parts.ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  } catch (cause) {
    throw new EnvelopeError('sealed value does not open under this master key for this row', { cause });
  }
}

export interface EnvelopeKeys {
  /** the master key used so far, accepted for opening while values are sealed again under the new one */
  previous?: Buffer | undefined;
  /** what derive() derives from; the master key itself when absent */
  derivationRoot?: Buffer | undefined;
}

function encryptionKeyOf(masterKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), ENCRYPTION_KEY_INFO, 32));
}

function parse(sealed: string): { version: string; iv: string; tag: string; ciphertext: string } {
  const [version, iv, tag, ciphertext, ...rest] = sealed.split('.');
  if (!version || !iv || !tag || ciphertext === undefined || rest.length > 0 || (version !== CURRENT && version !== LEGACY)) {
    throw new EnvelopeError('not a sealed value');
  }
  return { version, iv, tag, ciphertext };
}

/** Opens `sealed` under one master key. */
function openUnder(masterKey: Buffer, encryptionKey: Buffer, sealed: string, column: SealedColumn, row: string): string {
  const { version, ...parts } = parse(sealed);
  if (version === CURRENT) return decrypt(encryptionKey, parts, boundTo(column, row));
  return decrypt(masterKey, parts, Buffer.from(column.legacyPurpose(row)));
}

export function createEnvelope(masterKey: Buffer, keys: EnvelopeKeys = {}): SecretEnvelope {
  for (const key of [masterKey, keys.previous, keys.derivationRoot]) {
    if (key !== undefined && key.length !== 32) throw new TypeError('the master key must be 32 bytes');
  }
  const encryptionKey = encryptionKeyOf(masterKey);
  const previous = keys.previous && { key: keys.previous, encryptionKey: encryptionKeyOf(keys.previous) };
  const root = keys.derivationRoot ?? masterKey;
  return {
    seal(plaintext, column, row) {
      return encrypt(encryptionKey, CURRENT, plaintext, boundTo(column, row));
    },
    open(sealed, column, row) {
      try {
        return openUnder(masterKey, encryptionKey, sealed, column, row);
      } catch (error) {
        if (!previous || !(error instanceof EnvelopeError) || error.message === 'not a sealed value') throw error;
        return openUnder(previous.key, previous.encryptionKey, sealed, column, row);
      }
    },
    isCurrent(sealed) {
      return sealed.startsWith(`${CURRENT}.`);
    },
    sealedUnderCurrentKey(sealed, column, row) {
      if (!sealed.startsWith(`${CURRENT}.`)) return false;
      try {
        openUnder(masterKey, encryptionKey, sealed, column, row);
        return true;
      } catch {
        return false;
      }
    },
    derive(purpose, length = 32) {
      return Buffer.from(hkdfSync('sha256', root, Buffer.alloc(0), `postern:${purpose}`, length));
    },
  };
}

