/**
 * The ephemeral tier: Redis in production, process memory in the embedded default.
 * Keys are plain strings; each implementation adds its own prefix. TTLs are in seconds.
 */
export type ClaimOutcome = 'won' | 'lost' | 'missing';

/** What a subscription reports to its listener. What a listener throws is dropped. */
export interface SubscriptionListener {
  /** a message published on the channel by any process sharing the tier, this one included */
  message(message: string): void;
  /** the subscription is lost: what is published from now on is not delivered until `resumed` */
  interrupted(): void;
  /** subscribed again after `interrupted`; what was published in between was missed */
  resumed(): void;
}

export interface KvStore {
  readonly kind: 'redis' | 'memory';
  get(key: string): Promise<string | undefined>;
  getMany(keys: string[]): Promise<Array<string | undefined>>;
  set(key: string, value: string, ttlSeconds?: number): Promise<void>;
  /** Sets `key` only when it does not exist; true when it was set. */
  setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean>;
  del(keys: string[]): Promise<void>;
  /**
   * Atomically sets `claimKey` to `value` (expiring with `key`) unless it is set already.
   * 'missing' when `key` does not exist. Exactly one of many concurrent callers wins.
   * Both keys carry the same hash tag (hash-tag.ts), or a TypeError is thrown.
   */
  claim(key: string, claimKey: string, value: string): Promise<ClaimOutcome>;
  addToSet(key: string, member: string, ttlSeconds: number): Promise<void>;
  setMembers(key: string): Promise<string[]>;
  /** Increments a counter, starting its window of `ttlSeconds` on the first hit. */
  increment(key: string, ttlSeconds: number): Promise<{ count: number; ttlSeconds: number }>;
  /** Sends `message` to the subscribers of `channel` in every process sharing the tier. Nothing is kept. */
  publish(channel: string, message: string): Promise<void>;
  /**
   * Delivers what is published on `channel` to `listener`, from the moment this resolves until the
   * returned function is called or the store is closed. A lost connection is reported and the
   * channel subscribed again once it is back.
   */
  subscribe(channel: string, listener: SubscriptionListener): Promise<() => Promise<void>>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
