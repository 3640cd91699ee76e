import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

type Cbor = number | string | Buffer<ArrayBufferLike> | Map<Cbor, Cbor>;

/** The little CBOR (RFC 8949) a WebAuthn attestation needs: small ints, byte and text strings, maps. */
function cbor(value: Cbor): Buffer {
  const head = (major: number, length: number) => {
    if (length < 24) return Buffer.from([(major << 5) | length]);
    if (length < 256) return Buffer.from([(major << 5) | 24, length]);
    const buffer = Buffer.alloc(3);
    buffer[0] = (major << 5) | 25;
    buffer.writeUInt16BE(length, 1);
    return buffer;
  };
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === 'string') return Buffer.concat([head(3, Buffer.byteLength(value)), Buffer.from(value)]);
  if (Buffer.isBuffer(value)) return Buffer.concat([head(2, value.length), value]);
  return Buffer.concat([head(5, value.size), ...[...value].flatMap(([key, item]) => [cbor(key), cbor(item)])]);
}

const b64url = (buffer: Buffer) => buffer.toString('base64url');
const sha256 = (data: Buffer<ArrayBufferLike> | string) => createHash('sha256').update(data).digest();

export interface CeremonyOverrides {
  origin?: string;
  challenge?: string;
  counter?: number;
  userVerified?: boolean;
  rpId?: string;
}

/**
 * A platform authenticator in software (ES256, attestation "none"), so that the server's checks can
 * be tried over HTTP and against the domain with responses a browser would never send.
 */
export class SoftwarePasskey {
  readonly credentialId = randomBytes(16);
  readonly #privateKey: KeyObject;
  readonly #cose: Buffer;
  counter = 0;

  readonly rpId: string;
  readonly origin: string;

  constructor(rpId: string, origin: string) {
    this.rpId = rpId;
    this.origin = origin;
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.#privateKey = privateKey;
    const jwk = publicKey.export({ format: 'jwk' });
    this.#cose = cbor(new Map<Cbor, Cbor>([[1, 2], [3, -7], [-1, 1], [-2, Buffer.from(jwk.x!, 'base64url')], [-3, Buffer.from(jwk.y!, 'base64url')]]));
  }

  get id(): string {
    return b64url(this.credentialId);
  }

  #authData(overrides: CeremonyOverrides, attested: boolean, counter: number): Buffer {
    const flags = 0x01 | (overrides.userVerified === false ? 0 : 0x04) | (attested ? 0x40 : 0);
    const count = Buffer.alloc(4);
    count.writeUInt32BE(counter);
    const parts: Array<Buffer<ArrayBufferLike>> = [sha256(overrides.rpId ?? this.rpId), Buffer.from([flags]), count];
    if (attested) {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(this.credentialId.length);
      parts.push(Buffer.alloc(16), length, this.credentialId, this.#cose);
    }
    return Buffer.concat(parts);
  }

  #clientData(type: string, challenge: string, overrides: CeremonyOverrides): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge: overrides.challenge ?? challenge, origin: overrides.origin ?? this.origin, crossOrigin: false }));
  }

  /** The JSON a browser posts after `navigator.credentials.create()` with these options. */
  register(options: { challenge: string }, overrides: CeremonyOverrides = {}): string {
    const authData = this.#authData(overrides, true, 0);
    return JSON.stringify({
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: b64url(this.#clientData('webauthn.create', options.challenge, overrides)),
        attestationObject: b64url(cbor(new Map<Cbor, Cbor>([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]))),
        transports: ['internal'],
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    });
  }

  /** The JSON a browser posts after `navigator.credentials.get()`; the counter moves on unless given. */
  assert(options: { challenge: string }, userHandle: string, overrides: CeremonyOverrides = {}): string {
    const counter = overrides.counter ?? ++this.counter;
    const authData = this.#authData(overrides, false, counter);
    const clientData = this.#clientData('webauthn.get', options.challenge, overrides);
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientData)]), this.#privateKey);
    return JSON.stringify({
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: { clientDataJSON: b64url(clientData), authenticatorData: b64url(authData), signature: b64url(signature), userHandle },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    });
  }
}
