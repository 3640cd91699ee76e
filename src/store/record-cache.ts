import type { KvStore } from './kv/index.ts';
import { HOLD_SECONDS, ReadThroughCache } from './read-through-cache.ts';

/**
 * Durable protocol records read on nearly every token request (the grant behind a token, the
 * session it is bound to) and therefore served through the shared cache. Refresh tokens are
 * not: each is read once, usually long after it was written.
 */
export const CACHED_MODELS: ReadonlySet<string> = new Set(['Grant', 'Session']);

/**
 * The namespace of the roles (with their permissions) an account or a client holds, keyed
 * `account:<id>` or `client:<id>`: read on every authorization, token and refresh.
 */
export const HELD_ROLES = 'HeldRoles';

/** A durable record removed by a delete that bypassed the adapter (account or client deletion). */
export interface RemovedRecord {
  model: string;
  id: string;
  uid: string | null;
}


/** The caches in front of `oidc_payloads`, by id and by uid, one pair per cached model. */
export class RecordCache {
  readonly #kv: KvStore;
  readonly #ttlSeconds: number;
  readonly #holdSeconds: number;
  // one cache per namespace; each namespace is only ever asked for with one value type
  readonly #caches = new Map<string, ReadThroughCache<unknown>>();

  constructor(kv: KvStore, ttlSeconds: number, holdSeconds = HOLD_SECONDS) {
    this.#kv = kv;
    this.#ttlSeconds = ttlSeconds;
    this.#holdSeconds = holdSeconds;
  }

  #cache<T>(namespace: string): ReadThroughCache<T> {
    let cache = this.#caches.get(namespace);
    if (!cache) {
      cache = new ReadThroughCache<unknown>(this.#kv, namespace, this.#ttlSeconds, this.#holdSeconds);
      this.#caches.set(namespace, cache);
    }
    return cache as ReadThroughCache<T>;
  }

  /** Accounts by id, without their password hash. */
  accounts<T>(): ReadThroughCache<T> {
    return this.#cache<T>('Account');
  }

  /** Roles held by an account or a client, with their permissions (see HELD_ROLES). */
  heldRoles<T>(): ReadThroughCache<T> {
    return this.#cache<T>(HELD_ROLES);
  }

  byId<T>(model: string): ReadThroughCache<T> {
    return this.#cache<T>(model);
  }

  byUid<T>(model: string): ReadThroughCache<T> {
    return this.#cache<T>(`${model}:uid`);
  }

  /**
   * Runs a database write of these records between two marks. The first is made before anything
   * is written, so when the cache cannot be reached (or refuses writes) the write does not happen
   * and no instance can go on serving the record it would have changed; the second follows the
   * write, as `invalidate`.
   */
  async writing<T>(records: readonly RemovedRecord[], write: () => Promise<T>): Promise<T> {
    await this.invalidate(records);
    const result = await write();
    await this.invalidate(records);
    return result;
  }

  /** After a write or delete of these records: every instance reads them from the database next. */
  async invalidate(records: readonly RemovedRecord[]): Promise<void> {
    await Promise.all(
      records.flatMap((record) => [
        this.#cache(record.model).invalidate([record.id]),
        ...(record.uid ? [this.#cache(`${record.model}:uid`).invalidate([record.uid])] : []),
      ]),
    );
  }

  /** `invalidate`, for a bulk delete that may include models that are never cached. */
  async forget(records: readonly RemovedRecord[]): Promise<void> {
    await this.invalidate(records.filter((record) => CACHED_MODELS.has(record.model)));
  }
}
