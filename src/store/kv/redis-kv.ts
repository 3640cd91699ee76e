import { Redis } from 'ioredis';
import type { ClaimOutcome, KvStore } from './kv-store.ts';

// KEYS[1] the claimed key, KEYS[2] the claim marker; the marker expires with the key.
const CLAIM = `
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -2 then return -1 end
local ok
if ttl > 0 then
  ok = redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ttl)
else
  ok = redis.call('SET', KEYS[2], ARGV[1], 'NX')
end
if ok then return 1 end
return 0
`;

const INCREMENT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return { count, redis.call('TTL', KEYS[1]) }
`;

const EXTEND_SET = `
redis.call('SADD', KEYS[1], ARGV[1])
local ttl = redis.call('TTL', KEYS[1])
if ttl < tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1
`;

export class RedisKv implements KvStore {
  readonly kind = 'redis' as const;
  readonly #redis: Redis;

  constructor(url: string, prefix: string) {
    this.#redis = new Redis(url, {
      keyPrefix: prefix,
      lazyConnect: true,
      maxRetriesPerRequest: 2,
      enableAutoPipelining: true,
    });
    // Connection errors surface as rejected commands; without a listener ioredis would also print them.
    this.#redis.on('error', () => {});
  }

  async connect(): Promise<void> {
    await this.#redis.connect();
  }

  async get(key: string) {
    return (await this.#redis.get(key)) ?? undefined;
  }

  async getMany(keys: string[]) {
    if (keys.length === 0) return [];
    return (await this.#redis.mget(...keys)).map((value) => value ?? undefined);
  }

  async set(key: string, value: string, ttlSeconds?: number) {
    if (ttlSeconds === undefined) await this.#redis.set(key, value);
    else await this.#redis.set(key, value, 'EX', Math.max(1, Math.ceil(ttlSeconds)));
  }

  async setIfAbsent(key: string, value: string, ttlSeconds: number) {
    return (await this.#redis.set(key, value, 'EX', Math.max(1, Math.ceil(ttlSeconds)), 'NX')) === 'OK';
  }

  async del(keys: string[]) {
    if (keys.length > 0) await this.#redis.del(...keys);
  }

  async claim(key: string, claimKey: string, value: string): Promise<ClaimOutcome> {
    const result = Number(await this.#redis.eval(CLAIM, 2, key, claimKey, value));
    if (result === -1) return 'missing';
    return result === 1 ? 'won' : 'lost';
  }

  async addToSet(key: string, member: string, ttlSeconds: number) {
    await this.#redis.eval(EXTEND_SET, 1, key, member, String(Math.max(1, Math.ceil(ttlSeconds))));
  }

  async setMembers(key: string) {
    return this.#redis.smembers(key);
  }

  async increment(key: string, ttlSeconds: number) {
    const [count, ttl] = (await this.#redis.eval(INCREMENT, 1, key, String(ttlSeconds))) as [number, number];
    return { count, ttlSeconds: ttl };
  }

  async ping() {
    await this.#redis.ping();
  }

  async close() {
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}
