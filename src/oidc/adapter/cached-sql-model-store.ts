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
    await this.#cache.writing([{ model: this.#model, id, uid: payload.uid ?? null }], () => this.#store.upsert(id, payload, expiresIn));
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
    const record = [{ model: this.#model, id, uid: null }];
    await this.#cache.invalidate(record);
    try {
      await this.#store.consume(id);
    } finally {
      await this.#cache.invalidate(record);
    }
  }

  async destroy(id: string) {
    // the uid is known only once the row is gone; the id's mark comes first
    const removed = await this.#cache.writing([{ model: this.#model, id, uid: null }], () => this.#store.destroyReturning(id));
    await this.#cache.invalidate(removed);
  }

  async revokeByGrantId(grantId: string) {
    // a grant's own id is its grant id; other cached models are marked once their rows are known
    const known = this.#model === 'Grant' ? [{ model: this.#model, id: grantId, uid: null }] : [];
    const removed = await this.#cache.writing(known, () => this.#store.revokeByGrantIdReturning(grantId));
    await this.#cache.invalidate(removed);
  }
}
