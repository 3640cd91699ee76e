import { assertOneSlot } from './hash-tag.ts';
import type { ClaimOutcome, KvStore, SubscriptionListener } from './kv-store.ts';

interface Entry<T> {
  value: T;
  expiresAt: number | undefined;
}

/** Single-process ephemeral tier. Every operation is synchronous inside, so each is atomic. */
export class MemoryKv implements KvStore {
  readonly kind = 'memory' as const;
  readonly #values = new Map<string, Entry<string>>();
  readonly #sets = new Map<string, Entry<Set<string>>>();
  readonly #channels = new Map<string, Set<SubscriptionListener>>();
  readonly #sweeper: NodeJS.Timeout;

  constructor(sweepIntervalMs = 60_000) {
    this.#sweeper = setInterval(() => this.#sweep(), sweepIntervalMs);
    this.#sweeper.unref();
  }

  #live<T>(map: Map<string, Entry<T>>, key: string): Entry<T> | undefined {
    const entry = map.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      map.delete(key);
      return undefined;
    }
    return entry;
  }

  #sweep(): void {
    const now = Date.now();
    for (const map of [this.#values, this.#sets] as Array<Map<string, Entry<unknown>>>) {
      for (const [key, entry] of map) {
        if (entry.expiresAt !== undefined && entry.expiresAt <= now) map.delete(key);
      }
    }
  }

  static #expiry(ttlSeconds: number | undefined): number | undefined {
    return ttlSeconds === undefined ? undefined : Date.now() + ttlSeconds * 1000;
  }

  async get(key: string) {
    return this.#live(this.#values, key)?.value;
  }

  async getMany(keys: string[]) {
    return keys.map((key) => this.#live(this.#values, key)?.value);
  }

  async set(key: string, value: string, ttlSeconds?: number) {
    this.#values.set(key, { value, expiresAt: MemoryKv.#expiry(ttlSeconds) });
  }

  async setIfAbsent(key: string, value: string, ttlSeconds: number) {
    if (this.#live(this.#values, key)) return false;
    this.#values.set(key, { value, expiresAt: MemoryKv.#expiry(ttlSeconds) });
    return true;
  }

  async del(keys: string[]) {
    for (const key of keys) {
      this.#values.delete(key);
      this.#sets.delete(key);
    }
  }

  async claim(key: string, claimKey: string, value: string): Promise<ClaimOutcome> {
    // refused here too, so that the embedded tier's tests catch what a Redis Cluster would refuse
    assertOneSlot('claim', [key, claimKey]);
    const entry = this.#live(this.#values, key);
    if (!entry) return 'missing';
    if (this.#live(this.#values, claimKey)) return 'lost';
    this.#values.set(claimKey, { value, expiresAt: entry.expiresAt });
    return 'won';
  }

  async addToSet(key: string, member: string, ttlSeconds: number) {
    const expiresAt = MemoryKv.#expiry(ttlSeconds) ?? 0;
    const entry = this.#live(this.#sets, key);
    if (entry) {
      entry.value.add(member);
      if (entry.expiresAt !== undefined && entry.expiresAt < expiresAt) entry.expiresAt = expiresAt;
    } else {
      this.#sets.set(key, { value: new Set([member]), expiresAt });
    }
  }

  async setMembers(key: string) {
    return [...(this.#live(this.#sets, key)?.value ?? [])];
  }

  async increment(key: string, ttlSeconds: number) {
    const entry = this.#live(this.#values, key);
    if (!entry) {
      this.#values.set(key, { value: '1', expiresAt: MemoryKv.#expiry(ttlSeconds) });
      return { count: 1, ttlSeconds };
    }
    entry.value = String(Number(entry.value) + 1);
    const remaining = entry.expiresAt === undefined ? ttlSeconds : Math.max(0, Math.ceil((entry.expiresAt - Date.now()) / 1000));
    return { count: Number(entry.value), ttlSeconds: remaining };
  }

  /** Delivered before this returns: the tier is this process, and so are all its subscribers. */
  async publish(channel: string, message: string) {
    for (const listener of [...(this.#channels.get(channel) ?? [])]) {
      try {
        listener.message(message);
      } catch {
        // a listener's failure is its own; the publisher and the other listeners go on
      }
    }
  }

  async subscribe(channel: string, listener: SubscriptionListener) {
    // a listener object of its own, so that one listener subscribed twice is removed once per call
    const subscription: SubscriptionListener = { message: (m) => listener.message(m), interrupted: () => {}, resumed: () => {} };
    const listeners = this.#channels.get(channel) ?? new Set();
    listeners.add(subscription);
    this.#channels.set(channel, listeners);
    return async () => {
      listeners.delete(subscription);
      if (listeners.size === 0 && this.#channels.get(channel) === listeners) this.#channels.delete(channel);
    };
  }

  async ping() {}

  async close() {
    clearInterval(this.#sweeper);
    this.#values.clear();
    this.#sets.clear();
    this.#channels.clear();
  }
}
