import { ConfigError } from '../../config.ts';
import type { KvStore } from './kv-store.ts';
import { MemoryKv } from './memory-kv.ts';
import { RedisKv } from './redis-kv.ts';

export type { KvStore, ClaimOutcome } from './kv-store.ts';

export interface KvTarget {
  redisUrl: string | undefined;
  redisPrefix: string;
  /** ms a Redis command may take before it fails as unavailable */
  storageTimeoutMs?: number;
}

export async function createKv(target: KvTarget): Promise<KvStore> {
  if (!target.redisUrl) return new MemoryKv();
  const kv = new RedisKv(target.redisUrl, target.redisPrefix, { timeoutMs: target.storageTimeoutMs });
  try {
    await kv.connect();
    await kv.ping();
  } catch (error) {
    await kv.close();
    const host = new URL(target.redisUrl).host;
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new ConfigError(`cannot reach Redis at ${host}: ${reason}`);
  }
  return kv;
}
