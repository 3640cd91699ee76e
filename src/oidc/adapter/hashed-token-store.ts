import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { TokenIds } from './token-ids.ts';

/**
 * A token model's store as the engine sees it: ids in, values out, while underneath every record
 * sits under the keyed hash of its value, without the value (token-ids.ts).
 *
 * `legacyReads`: tokens written before values were hashed (plain id, value in the payload). The
 * durable tier converts its rows once at start (rekeyLegacyTokens); the ephemeral tier's live out
 * their short lifetime, and while `legacyReads()` is true a value not found under its hash is also
 * looked for, consumed and deleted under itself.
 */
export class HashedTokenStore implements Adapter {
  readonly #store: Adapter;
  readonly #ids: TokenIds;
  readonly #legacyReads: () => boolean;

  constructor(store: Adapter, ids: TokenIds, legacyReads: () => boolean = () => false) {
    this.#store = store;
    this.#ids = ids;
    this.#legacyReads = legacyReads;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number) {
    await this.#store.upsert(this.#ids.storageIdOf(id), this.#ids.toStored(id, payload), expiresIn);
  }

  async find(id: string) {
    const stored = await this.#store.find(this.#ids.storageIdOf(id));
    if (stored) return this.#ids.fromStored(id, stored);
    if (!this.#legacyReads()) return undefined;
    const legacy = await this.#store.find(id);
    return legacy && legacy.jti === id ? legacy : undefined;
  }

  async findByUid(uid: string) {
    const stored = await this.#store.findByUid(uid);
    return stored ? this.#ids.fromStoredByOtherKey(stored) : undefined;
  }

  async findByUserCode(userCode: string) {
    const stored = await this.#store.findByUserCode(userCode);
    return stored ? this.#ids.fromStoredByOtherKey(stored) : undefined;
  }

  async consume(id: string) {
    if (this.#legacyReads() && !(await this.#store.find(this.#ids.storageIdOf(id)))) return this.#store.consume(id);
    await this.#store.consume(this.#ids.storageIdOf(id));
  }

  async destroy(id: string) {
    await this.#store.destroy(this.#ids.storageIdOf(id));
    if (this.#legacyReads()) await this.#store.destroy(id);
  }

  revokeByGrantId(grantId: string) {
    return this.#store.revokeByGrantId(grantId);
  }
}
