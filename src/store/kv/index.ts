import { ConfigError } from '../../config.ts';
import type { KvStore } from './kv-store.ts';
import { MemoryKv } from './memory-kv.ts';
import { RedisKv } from './redis-kv.ts';

export type { KvStore, ClaimOutcome } from './kv-store.ts';

export interface KvTarget {
  redisUrl: string | undefined;
  redisPrefix: string;
}

export async function createKv(target: KvTarget): Promise<KvStore> {
  if (!target.redisUrl) return new MemoryKv();
  const kv = new RedisKv(target.redisUrl, target.redisPrefix);
  try {
    await kv.connect();
    await kv.ping();
  } catch (error) {
    await kv.close();
    const host = new URL(target.redisUrl).host;
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError(`cannot reach Redis at ${host}: ${reason}`);
  }
  return kv;
}
