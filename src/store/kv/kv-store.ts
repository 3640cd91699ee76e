/**
 * The ephemeral tier: Redis in production, process memory in the embedded default.
 * Keys are plain strings; each implementation adds its own prefix. TTLs are in seconds.
 */
export type ClaimOutcome = 'won' | 'lost' | 'missing';

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
   */
  claim(key: string, claimKey: string, value: string): Promise<ClaimOutcome>;
  addToSet(key: string, member: string, ttlSeconds: number): Promise<void>;
  setMembers(key: string): Promise<string[]>;
  /** Increments a counter, starting its window of `ttlSeconds` on the first hit. */
  increment(key: string, ttlSeconds: number): Promise<{ count: number; ttlSeconds: number }>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
