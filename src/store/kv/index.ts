import { ConfigError, describeRedis, type RedisConnection } from '../../config.ts';
import type { KvStore } from './kv-store.ts';
import { MemoryKv } from './memory-kv.ts';
import { RedisKv } from './redis-kv.ts';

export type { KvStore, ClaimOutcome, SubscriptionListener } from './kv-store.ts';

export interface KvTarget {
  /** undefined: process memory */
  redis: RedisConnection | undefined;
  redisPrefix: string;
  /** ms a Redis command may take before it fails as unavailable */
  storageTimeoutMs?: number;
}

export async function createKv(target: KvTarget): Promise<KvStore> {
  if (!target.redis) return new MemoryKv();
  const kv = new RedisKv(target.redis, target.redisPrefix, { timeoutMs: target.storageTimeoutMs });
  try {
    await kv.connect();
    await kv.ping();
  } catch (error) {
    await kv.close();
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new ConfigError(`cannot reach Redis at ${describeRedis(target.redis)}: ${reason}`);
  }
  return kv;
}
