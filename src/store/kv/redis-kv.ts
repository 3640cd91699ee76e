import { Cluster } from 'ioredis';
import { parseRedisUrl, type RedisConnection } from '../../config.ts';
import { CircuitBreaker } from '../circuit-breaker.ts';
import { StorageUnavailable } from '../unavailable.ts';
import { assertOneSlot } from './hash-tag.ts';
import { observeStorage } from '../../metrics/index.ts';
import type { ClaimOutcome, KvStore, SubscriptionListener } from './kv-store.ts';
import { openCommandClient, subscriberConnector, type RedisClient } from './redis-connection.ts';
import { RedisSubscriber } from './redis-subscriber.ts';

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

/** Replies with which a reachable Redis refuses work for a while (memory full, loading, a replica). */
const UNAVAILABLE_REPLY = /^(OOM|LOADING|READONLY|MASTERDOWN|BUSY|CLUSTERDOWN|TRYAGAIN|NOREPLICAS|MISCONF)\b/;

export interface RedisKvOptions {
  /** ms a command, or connecting, may take before it fails; default 750 */
  timeoutMs?: number;
  /** ms between the subscriber connection's heartbeats; default 5000 */
  heartbeatMs?: number;
}

/**
 * The ephemeral tier on Redis. It fails fast: no offline queue (a command while disconnected fails
 * at once), a timeout on every command, and a circuit breaker that answers at once while Redis is
 * known to be unreachable. ioredis keeps reconnecting in the background, at most a second apart,
 * so Postern uses Redis again within seconds of its return. Every failure surfaces as
 * StorageUnavailable. The prefix applies to pub/sub channels too (ioredis prefixes keys only);
 * subscriptions get a connection of their own, opened on the first.
 *
 * On a Redis Cluster, `claim` needs its two keys in one slot (hash-tag.ts); `getMany` and `del`
 * take keys from anywhere: each key is its own command there, pipelined per node by ioredis.
 */
export class RedisKv implements KvStore {
  readonly kind = 'redis' as const;
  readonly #redis: RedisClient;
  readonly #breaker = new CircuitBreaker(1000);
  readonly #prefix: string;
  readonly #newSubscriber: () => RedisSubscriber;
  readonly #timeoutMs: number;
  #subscriber: RedisSubscriber | undefined;

  /** `target`: a REDIS_URL (any form config.ts accepts) or one parsed already */
  constructor(target: string | RedisConnection, prefix: string, options: RedisKvOptions = {}) {
    const connection = typeof target === 'string' ? parseRedisUrl(target) : target;
    const timeoutMs = options.timeoutMs ?? 750;
    this.#timeoutMs = timeoutMs;
    this.#prefix = prefix;
    this.#redis = openCommandClient(connection, {
      keyPrefix: prefix,
      // ioredis' own timeout only clears commands stuck behind a Redis that stopped answering; the
      // caller's wait is bounded by #call, from the moment it asks (see there)
      commandTimeoutMs: timeoutMs * 4,
      connectTimeoutMs: timeoutMs,
      enableAutoPipelining: true,
    });
    const connect = subscriberConnector(connection, { commandTimeoutMs: timeoutMs, connectTimeoutMs: timeoutMs, connectionName: `${prefix}subscriber` }, this.#redis);
    this.#newSubscriber = () => new RedisSubscriber(connect, { heartbeatMs: options.heartbeatMs });
    // Connection errors surface as rejected commands; without a listener ioredis would also print them.
    this.#redis.on('error', () => {});
  }

  /**
   * One command, bounded by the storage timeout from the moment it is asked for. (With
   * auto-pipelining ioredis sends a command only once the pipeline in flight has answered, and
   * starts its own timer then: behind a Redis that stopped answering, a command would wait out
   * two of its timeouts.)
   */
  async #call<T>(command: (redis: RedisClient) => Promise<T>): Promise<T> {
    const started = performance.now();
    if (!this.#breaker.allow()) {
      observeStorage('ephemeral', null, 'unavailable');
      throw new StorageUnavailable('kv');
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      const pending = command(this.#redis);
      const timedOut = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error('Command timed out')), this.#timeoutMs);
      });
      // the command may still settle after the timeout: nobody waits for it then
      pending.catch(() => {});
      const result = await Promise.race([pending, timedOut]);
      this.#breaker.succeeded();
      observeStorage('ephemeral', (performance.now() - started) / 1000);
      return result;
    } catch (error) {
      const seconds = (performance.now() - started) / 1000;
      if ((error as Error).name === 'ReplyError') {
        this.#breaker.succeeded();
        const unavailable = UNAVAILABLE_REPLY.test((error as Error).message);
        observeStorage('ephemeral', seconds, unavailable ? 'unavailable' : 'failed');
        if (unavailable) throw new StorageUnavailable('kv', error);
        throw error;
      }
      this.#breaker.failed();
      observeStorage('ephemeral', seconds, 'unavailable');
      throw new StorageUnavailable('kv', error);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Fails when no connection is ready within a few timeouts (through Sentinels, ioredis would go on asking). */
  async connect(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error('no connection ready in time')), this.#timeoutMs * 4);
    });
    try {
      await Promise.race([this.#redis.connect(), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  async get(key: string) {
    return (await this.#call((redis) => redis.get(key))) ?? undefined;
  }

  async getMany(keys: string[]) {
    if (keys.length === 0) return [];
    if (this.#redis instanceof Cluster) return Promise.all(keys.map((key) => this.get(key)));
    return (await this.#call((redis) => redis.mget(...keys))).map((value) => value ?? undefined);
  }

  async set(key: string, value: string, ttlSeconds?: number) {
    if (ttlSeconds === undefined) await this.#call((redis) => redis.set(key, value));
    else await this.#call((redis) => redis.set(key, value, 'EX', Math.max(1, Math.ceil(ttlSeconds))));
  }

  async setIfAbsent(key: string, value: string, ttlSeconds: number) {
    return (await this.#call((redis) => redis.set(key, value, 'EX', Math.max(1, Math.ceil(ttlSeconds)), 'NX'))) === 'OK';
  }

  async del(keys: string[]) {
    if (keys.length === 0) return;
    if (this.#redis instanceof Cluster) await Promise.all(keys.map((key) => this.#call((redis) => redis.del(key))));
    else await this.#call((redis) => redis.del(...keys));
  }

  async claim(key: string, claimKey: string, value: string): Promise<ClaimOutcome> {
    assertOneSlot('claim', [key, claimKey]);
    const result = Number(await this.#call((redis) => redis.eval(CLAIM, 2, key, claimKey, value)));
    if (result === -1) return 'missing';
    return result === 1 ? 'won' : 'lost';
  }

  async addToSet(key: string, member: string, ttlSeconds: number) {
    await this.#call((redis) => redis.eval(EXTEND_SET, 1, key, member, String(Math.max(1, Math.ceil(ttlSeconds)))));
  }

  async setMembers(key: string) {
    return this.#call((redis) => redis.smembers(key));
  }

  async increment(key: string, ttlSeconds: number) {
    const [count, ttl] = (await this.#call((redis) => redis.eval(INCREMENT, 1, key, String(ttlSeconds)))) as [number, number];
    return { count, ttlSeconds: ttl };
  }

  async publish(channel: string, message: string) {
    await this.#call((redis) => redis.publish(this.#prefix + channel, message));
  }

  async subscribe(channel: string, listener: SubscriptionListener) {
    this.#subscriber ??= this.#newSubscriber();
    return this.#subscriber.subscribe(this.#prefix + channel, listener);
  }

  async ping() {
    await this.#call((redis) => redis.ping());
  }

  async close() {
    await this.#subscriber?.close();
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}
