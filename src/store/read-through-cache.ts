import type { KvStore } from './kv/index.ts';
import { isStorageUnavailable } from './unavailable.ts';

/** What a writer leaves in place of an entry: readers go to the database and do not fill it. */
const HELD = '-';
/** How long a writer's mark keeps readers off the entry; must outlast any reader's read-then-fill. */
export const HOLD_SECONDS = 5;
/** A reader whose database read took longer than this does not fill (its row may predate a mark that has expired). */
const FILL_DEADLINE_MS = 1000;

interface Entry<T> {
  v: T;
  /** epoch ms after which the record no longer exists */
  x?: number | undefined;
}

/**
 * A read-through cache in the ephemeral tier, shared by every instance, in front of records whose
 * truth is the database. Readers fill only an empty entry (set-if-absent). Every writer, after its
 * database write, replaces the entry with a short-lived mark, so a reader that read the row before
 * the write cannot put the old row back: its fill finds the mark. No instance ever serves a row
 * older than the last write it could have observed.
 */
export class ReadThroughCache<T> {
  readonly #kv: KvStore;
  readonly #namespace: string;
  readonly #ttlSeconds: number;
  readonly #holdSeconds: number;

  constructor(kv: KvStore, namespace: string, ttlSeconds: number, holdSeconds = HOLD_SECONDS) {
    this.#kv = kv;
    this.#namespace = namespace;
    this.#ttlSeconds = ttlSeconds;
    this.#holdSeconds = holdSeconds;
  }

  #key(id: string): string {
    return `cache:${this.#namespace}:${id}`;
  }

  /**
   * The record `id`: from the cache, else from `load` (then cached until `expiresAtOf`, at most
   * the cache lifetime). An expired cached record reads as absent, as the database would answer.
   */
  async get(id: string, load: () => Promise<T | undefined>, expiresAtOf?: (value: T) => number | undefined): Promise<T | undefined> {
    if (this.#ttlSeconds === 0) return load();
    const key = this.#key(id);
    let cached: string | undefined;
    try {
      cached = await this.#kv.get(key);
    } catch (error) {
      // the database is the truth: without the cache, read it there (and fill nothing)
      if (isStorageUnavailable(error)) return load();
      throw error;
    }
    if (cached !== undefined && cached !== HELD) {
      const entry = JSON.parse(cached) as Entry<T>;
      return entry.x === undefined || entry.x > Date.now() ? entry.v : undefined;
    }
    const started = performance.now();
    const value = await load();
    if (value !== undefined && cached === undefined && performance.now() - started < FILL_DEADLINE_MS) {
      const expiresAt = expiresAtOf?.(value);
      const ttl = Math.min(this.#ttlSeconds, expiresAt === undefined ? Infinity : (expiresAt - Date.now()) / 1000);
      // the fill is an optimisation: the reader already has its answer and does not wait for it
      if (ttl >= 1) this.#kv.setIfAbsent(key, JSON.stringify({ v: value, x: expiresAt } satisfies Entry<T>), ttl).catch(() => {});
    }
    return value;
  }

  /** Call after the database write: readers go to the database for the next few seconds. */
  async invalidate(ids: Iterable<string>): Promise<void> {
    if (this.#ttlSeconds === 0) return;
    await Promise.all([...ids].map((id) => this.#kv.set(this.#key(id), HELD, this.#holdSeconds)));
  }
}
