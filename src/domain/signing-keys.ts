import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Database } from '../store/db.ts';
import type { SecretEnvelope } from '../store/envelope.ts';
import { SIGNING_KEY_SEALED } from '../store/sealed-columns.ts';

export type KeyStatus = 'next' | 'current' | 'previous' | 'retired';

interface KeyRow {
  kid: string;
  alg: string;
  status: KeyStatus;
  private_jwk_sealed: string;
}

const ALG = 'RS256';
// JWKS order: the engine signs with the first key of an algorithm, so `current` leads.
const ORDER: Record<KeyStatus, number> = { current: 0, next: 1, previous: 2, retired: 3 };

export class SigningKeys {
  readonly #db: Database;
  readonly #envelope: SecretEnvelope;

  constructor(db: Database, envelope: SecretEnvelope) {
    this.#db = db;
    this.#envelope = envelope;
  }

  async #generate(status: KeyStatus): Promise<void> {
    const { privateKey } = await generateKeyPair(ALG, { modulusLength: 2048, extractable: true });
    const jwk = await exportJWK(privateKey);
    const kid = await calculateJwkThumbprint(jwk);
    const privateJwk: JWK = { ...jwk, kid, alg: ALG, use: 'sig' };
    const { kty, n, e } = privateJwk;
    await this.#db('signing_keys')
      .insert({
        kid,
        alg: ALG,
        status,
        public_jwk: JSON.stringify({ kty, n, e, kid, alg: ALG, use: 'sig' }),
        private_jwk_sealed: this.#envelope.seal(JSON.stringify(privateJwk), SIGNING_KEY_SEALED, kid),
        activated_at: status === 'current' ? this.#db.fn.now() : null,
      })
      // another instance starting at the same moment may have made the current key first
      .onConflict(this.#db.raw("(alg) where status = 'current'"))
      .ignore();
  }

  /** Makes sure a current RS256 key exists (generating one on first start). */
  async ensureCurrent(): Promise<void> {
    const current = await this.#db('signing_keys').where({ alg: ALG, status: 'current' }).first('kid');
    if (!current) await this.#generate('current');
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
      .sort((a, b) => ORDER[a.status] - ORDER[b.status])
      .map((row) => JSON.parse(this.#envelope.open(row.private_jwk_sealed, SIGNING_KEY_SEALED, row.kid)) as JWK);
  }
}
