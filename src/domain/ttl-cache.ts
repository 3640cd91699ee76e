import type { LocalCache } from '../store/process-caches.ts';

/**
 * A small read-through cache, in process memory, for rows the hot paths read on every request
 * (client metadata, resource servers). Loads are shared while in flight; failed loads are not
 * kept; the oldest entry goes first when full. Registered with ProcessCaches, it drops entries
 * as soon as any process announces a change; `ttlMs` bounds what no announcement reaches. A ttl
 * of 0 turns caching off.
 */
export class TtlCache<V> implements LocalCache {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #entries = new Map<string, { value: Promise<V>; expiresAt: number }>();
  #suspended = false;

  constructor(ttlMs: number, maxEntries = 10_000) {
    this.#ttlMs = ttlMs;
    this.#maxEntries = maxEntries;
  }

  get(key: string, load: () => Promise<V>): Promise<V> {
    if (this.#ttlMs <= 0 || this.#suspended) return load();
    const now = Date.now();
    const hit = this.#entries.get(key);
    if (hit && hit.expiresAt > now) return hit.value;
    if (hit) this.#entries.delete(key);
    if (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    const value = load();
    const entry = { value, expiresAt: now + this.#ttlMs };
    this.#entries.set(key, entry);
    value.catch(() => {
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
    });
    return value;
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  suspend(): void {
    this.#suspended = true;
    this.#entries.clear();
  }

  resume(): void {
    this.#entries.clear();
    this.#suspended = false;
  }
}
