import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendPool, KV_BACKENDS, uniqueId } from '../support/adapter-backends.ts';
import { REDIS_URL } from '../support/backends.ts';
import { kvContract } from './kv-contract.ts';

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
    const keys = { value: uniqueId('value'), marker: uniqueId('marker'), set: uniqueId('set'), counter: uniqueId('counter') };
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
