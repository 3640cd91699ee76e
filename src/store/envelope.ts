import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM envelope for secrets at rest (signing keys, client secrets, TOTP secrets).
 * Sealed form: `v1.<iv>.<tag>.<ciphertext>`, base64url parts. `purpose` is bound as
 * additional authenticated data so a sealed value cannot be moved to another column.
 */
export interface SecretEnvelope {
  seal(plaintext: string, purpose: string): string;
  open(sealed: string, purpose: string): string;
  /** A purpose-bound key derived from the master key (cookie keys, token id HMACs). */
  derive(purpose: string, length?: number): Buffer;
}

export class EnvelopeError extends Error {
  override name = 'EnvelopeError';
}

export function createEnvelope(masterKey: Buffer): SecretEnvelope {
  if (masterKey.length !== 32) throw new TypeError('the master key must be 32 bytes');
  return {
    seal(plaintext, purpose) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', masterKey, iv);
      cipher.setAAD(Buffer.from(purpose));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
    },
    open(sealed, purpose) {
      const [version, iv, tag, ciphertext] = sealed.split('.');
      if (version !== 'v1' || !iv || !tag || ciphertext === undefined) throw new EnvelopeError('not a sealed value');
      try {
        const decipher = createDecipheriv('aes-256-gcm', masterKey, Buffer.from(iv, 'base64url'));
        decipher.setAAD(Buffer.from(purpose));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
      } catch (cause) {
        throw new EnvelopeError('sealed value does not open under this master key', { cause });
      }
    },
    derive(purpose, length = 32) {
      return Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), `postern:${purpose}`, length));
    },
  };
}
