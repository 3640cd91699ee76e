import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvModelStore } from '../../src/oidc/adapter/kv-model-store.ts';
import { RedisKv } from '../../src/store/kv/redis-kv.ts';
import { adapterContract } from '../adapter/adapter-contract.ts';
import { kvContract } from '../store/kv-contract.ts';
import { uniqueId } from '../support/adapter-backends.ts';
import { ask, redisUnavailable, startRedisSentinel, type OwnTopology } from '../support/redis-topologies.ts';

// One master and one Sentinel of the suite's own on random loopback ports: RedisKv finds the
// master through the Sentinel (redis+sentinel://…?name=mymaster) and keeps every contract.
const unavailable = redisUnavailable();

describe.runIf(!unavailable)(`through a Redis Sentinel${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let sentinel: OwnTopology;
  let kv: RedisKv;
  const prefix = `postern-test-${randomBytes(4).toString('hex')}:`;

  beforeAll(async () => {
    sentinel = await startRedisSentinel();
    kv = new RedisKv(sentinel.url, prefix);
    await kv.connect();
  });
  afterAll(async () => {
    await kv?.close();
    await sentinel?.close();
  });

  it('writes to the master the Sentinel names', async () => {
    const key = uniqueId('on-master');
    await kv.set(key, 'x', 60);
    expect(await ask(sentinel.ports[0]!, 'GET', `${prefix}${key}`)).toBe('x');
  });

  it('refuses a master name the Sentinel does not know', async () => {
    const lost = new RedisKv(sentinel.url.replace('name=mymaster', 'name=othermaster'), prefix, { timeoutMs: 300 });
    await expect(lost.connect()).rejects.toThrow();
    await lost.close();
  });

  describe('KvStore contract', () => kvContract(() => kv));

  describe('Adapter contract (KvModelStore)', () => adapterContract((model) => new KvModelStore(kv, model)));
});
