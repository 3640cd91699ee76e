import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createEnvelope, EnvelopeError } from '../../src/store/envelope.ts';

const envelope = createEnvelope(randomBytes(32));

/** Flips one bit of one base64url part of a sealed value (1 iv, 2 tag, 3 ciphertext). */
function tamper(sealed: string, part: 1 | 2 | 3): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[part]!, 'base64url');
  bytes[0]! ^= 0x01;
  parts[part] = bytes.toString('base64url');
  return parts.join('.');
}

describe('secret envelope (AES-256-GCM)', () => {
  it.each([
    ['a signing key', '{"kty":"RSA","d":"…"}'],
    ['unicode', 'pässwörd 秘密 🔑'],
    ['an empty string', ''],
    ['a long value', 'x'.repeat(100_000)],
  ])('seals and opens %s', (_label, plaintext) => {
    const sealed = envelope.seal(plaintext, 'signing-key');
    expect(sealed).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]*$/);
    if (plaintext) expect(sealed).not.toContain(plaintext);
    expect(envelope.open(sealed, 'signing-key')).toBe(plaintext);
  });

  it('seals the same plaintext differently each time (fresh IV)', () => {
    expect(envelope.seal('secret', 'p')).not.toBe(envelope.seal('secret', 'p'));
  });

  it.each([
    [1, 'IV'],
    [2, 'tag'],
    [3, 'ciphertext'],
  ] as const)('rejects a value whose part %i (%s) was tampered with', (part, _name) => {
    const sealed = envelope.seal('client secret', 'client-secret');
    expect(() => envelope.open(tamper(sealed, part), 'client-secret')).toThrow(EnvelopeError);
  });

  it('rejects a value opened for another purpose', () => {
    const sealed = envelope.seal('totp seed', 'totp-secret');
    expect(() => envelope.open(sealed, 'client-secret')).toThrow(EnvelopeError);
  });

  it('rejects a value opened under another master key', () => {
    const sealed = envelope.seal('totp seed', 'totp-secret');
    expect(() => createEnvelope(randomBytes(32)).open(sealed, 'totp-secret')).toThrow(EnvelopeError);
  });

  it.each(['', 'plain text', 'v2.a.b.c', 'v1.onlyiv'])('rejects %j as not a sealed value', (value) => {
    expect(() => envelope.open(value, 'p')).toThrow(EnvelopeError);
  });

  it('refuses a master key that is not 32 bytes', () => {
    expect(() => createEnvelope(randomBytes(16))).toThrow(TypeError);
  });

  it('derives stable, purpose-bound keys', () => {
    const masterKey = randomBytes(32);
    const derived = createEnvelope(masterKey).derive('cookies');
    expect(derived).toHaveLength(32);
    expect(createEnvelope(masterKey).derive('cookies')).toEqual(derived);
    expect(envelope.derive('cookies')).not.toEqual(derived);
    expect(createEnvelope(masterKey).derive('token-hmac')).not.toEqual(derived);
    expect(createEnvelope(masterKey).derive('cookies', 64)).toHaveLength(64);
  });
});
