import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { RecordCache } from '../../store/record-cache.ts';
import type { SqlModelStore, StoredPayload } from './sql-model-store.ts';

const expiresAt = (stored: StoredPayload) => stored.expiresAt;

/**
 * The durable tier for records read on most requests: lookups by id and by uid go through the
 * shared cache; every write and delete goes to the database first and then marks the entries.
 */
export class CachedSqlModelStore implements Adapter {
  readonly #store: SqlModelStore;
  readonly #cache: RecordCache;
  readonly #model: string;

  constructor(store: SqlModelStore, cache: RecordCache, model: string) {
    this.#store = store;
    this.#cache = cache;
    this.#model = model;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number) {
    await this.#store.upsert(id, payload, expiresIn);
    await this.#cache.invalidate([{ model: this.#model, id, uid: payload.uid ?? null }]);
  }

  async find(id: string) {
    return (await this.#cache.byId<StoredPayload>(this.#model).get(id, () => this.#store.findStored(id), expiresAt))?.payload;
  }

  async findByUid(uid: string) {
    return (await this.#cache.byUid<StoredPayload>(this.#model).get(uid, () => this.#store.findStoredByUid(uid), expiresAt))?.payload;
  }

  findByUserCode(userCode: string) {
    return this.#store.findByUserCode(userCode);
  }

  async consume(id: string) {
    try {
      await this.#store.consume(id);
    } finally {
      await this.#cache.invalidate([{ model: this.#model, id, uid: null }]);
    }
  }

  async destroy(id: string) {
    await this.#cache.invalidate(await this.#store.destroyReturning(id));
  }

  async revokeByGrantId(grantId: string) {
    await this.#cache.invalidate(await this.#store.revokeByGrantIdReturning(grantId));
  }
}
