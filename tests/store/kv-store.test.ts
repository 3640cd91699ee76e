import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisKv, type RedisKvOptions } from '../../src/store/kv/redis-kv.ts';
import { StorageUnavailable } from '../../src/store/unavailable.ts';
import { BackendPool, KV_BACKENDS, sleep, uniqueId } from '../support/adapter-backends.ts';
import { REDIS_URL } from '../support/backends.ts';
import { eventually, kvContract, recorder } from './kv-contract.ts';

const pool = new BackendPool();
afterAll(() => pool.closeAll());

for (const backend of KV_BACKENDS) {
  describe.runIf(backend.enabled)(backend.title, () => {
    const opened = pool.use(backend);
    kvContract(() => opened().kv);
  });
}

// Redis is shared between deployments: nothing may land outside the configured prefix.
const redis = KV_BACKENDS[1]!;
describe.runIf(redis.enabled)(`RedisKv key prefix${REDIS_URL ? '' : ' (skipped: set TEST_REDIS_URL to run)'}`, () => {
  const opened = pool.use(redis);
  let raw: Redis | undefined;
  beforeAll(() => {
    raw = new Redis(REDIS_URL!);
  });
  afterAll(async () => {
    await raw?.quit();
  });

  it('every operation writes under the prefix only', async () => {
    const { kv, prefix } = opened();
    const value = `value:{${uniqueId('value')}}`;
    const keys = { value, marker: `${value}:marker`, set: uniqueId('set'), counter: uniqueId('counter') };
    await kv.set(keys.value, 'x', 60);
    await kv.claim(keys.value, keys.marker, '1');
    await kv.addToSet(keys.set, 'member', 60);
    await kv.increment(keys.counter, 60);
    for (const name of Object.values(keys)) {
      expect(await raw!.exists(`${prefix}${name}`)).toBe(1);
      expect(await raw!.exists(name)).toBe(0);
    }
  });
});

describe.runIf(redis.enabled)(`RedisKv pub/sub between processes${REDIS_URL ? '' : ' (skipped: set TEST_REDIS_URL to run)'}`, () => {
  const opened = pool.use(redis);
  let raw: Redis | undefined;
  const others: RedisKv[] = [];
  /** Another process's view of the same deployment (same prefix), or of another one. */
  const another = async (prefix: string, options: RedisKvOptions = {}) => {
    const kv = new RedisKv(REDIS_URL!, prefix, options);
    others.push(kv);
    await kv.connect();
    return kv;
  };
  beforeAll(() => {
    raw = new Redis(REDIS_URL!);
  });
  afterAll(async () => {
    await Promise.all(others.map((kv) => kv.close()));
    await raw?.quit();
  });

  it('reaches the processes sharing the prefix, and only them; the channel is under the prefix', async () => {
    const { kv, prefix } = opened();
    const channel = uniqueId('channel');
    const [sameDeployment, otherDeployment] = [recorder(), recorder()];
    await (await another(prefix!)).subscribe(channel, sameDeployment);
    await (await another(`${prefix}other:`)).subscribe(channel, otherDeployment);
    const bare = raw!.duplicate();
    const prefixed: string[] = [];
    const unprefixed: string[] = [];
    bare.on('message', (name: string, message: string) => (name === channel ? unprefixed : prefixed).push(message));
    await bare.subscribe(`${prefix}${channel}`, channel);
    await kv.publish(channel, 'hello');
    await eventually(() => sameDeployment.messages.length === 1 && prefixed.length === 1);
    await sleep(100);
    expect(sameDeployment.messages).toEqual(['hello']);
    expect(prefixed).toEqual(['hello']);
    expect(otherDeployment.messages).toEqual([]);
    expect(unprefixed).toEqual([]);
    await bare.quit();
  });

  it('reports a lost subscriber connection, subscribes again when it is back, and delivers from then on', async () => {
    const { prefix } = opened();
    const subscriberPrefix = `${prefix}reconnect-${uniqueId()}:`;
    // heartbeats every 100 ms: they must not disturb a healthy connection
    const subscriber = await another(subscriberPrefix, { heartbeatMs: 100 });
    const publisher = await another(subscriberPrefix);
    const [kept, dropped] = [recorder(), recorder()];
    const channel = uniqueId('channel');
    await subscriber.subscribe(channel, kept);
    const stopDropped = await subscriber.subscribe(uniqueId('channel'), dropped);
    await stopDropped();
    await sleep(400);
    expect(kept.events).toEqual([]);
    for (let round = 1; round <= 2; round += 1) {
      const list = String(await raw!.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
      const line = list.split('\n').find((entry) => entry.includes(` name=${subscriberPrefix}subscriber `));
      expect(line).toBeDefined();
      await raw!.client('KILL', 'ID', /\bid=(\d+)/.exec(line!)![1]!);
      await eventually(() => kept.events.length === 2 * round, 5000);
      expect(kept.events.slice(-2)).toEqual(['interrupted', 'resumed']);
      await publisher.publish(channel, `after reconnection ${round}`);
      await eventually(() => kept.messages.length === round);
    }
    expect(kept.messages).toEqual(['after reconnection 1', 'after reconnection 2']);
    expect(dropped.events).toEqual([]);
  });

  it('fails as unavailable, without crashing, when Redis cannot be reached', async () => {
    const unreachable = new RedisKv('redis://127.0.0.1:1', 'unreachable:', { timeoutMs: 200 });
    others.push(unreachable);
    await expect(unreachable.subscribe('channel', recorder())).rejects.toBeInstanceOf(StorageUnavailable);
    await expect(unreachable.publish('channel', 'x')).rejects.toBeInstanceOf(StorageUnavailable);
    await expect(unreachable.subscribe('channel', recorder())).rejects.toBeInstanceOf(StorageUnavailable);
  });
});
