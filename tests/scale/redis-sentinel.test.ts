import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvModelStore } from '../../src/oidc/adapter/kv-model-store.ts';
import { RedisKv } from '../../src/store/kv/redis-kv.ts';
import { adapterContract } from '../adapter/adapter-contract.ts';
import { kvContract } from '../store/kv-contract.ts';
import { uniqueId } from '../support/adapter-backends.ts';
import { ask, redisUnavailable, startRedisSentinel, type OwnTopology } from '../support/redis-topologies.ts';
import { discover, seed } from '../support/relying-party.ts';
import { startTestServer } from '../support/test-server.ts';
import { flowCases, type FlowTarget } from './flow-cases.ts';
import { ownDatabase } from './storage.ts';

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

  describe('the protocol flows on a server that finds its Redis through the Sentinel', () => {
    const target = {} as FlowTarget;
    let drop = async () => {};
    beforeAll(async () => {
      const database = await ownDatabase();
      drop = database.drop;
      target.server = await startTestServer('embedded', { ...database.env, REDIS_URL: sentinel.url, POSTERN_REDIS_PREFIX: `${prefix}server:` });
      target.fixture = await seed(target.server);
      target.config = await discover(target.server, target.fixture);
    });
    afterAll(async () => {
      await target.server?.close();
      await drop();
    });

    it('keeps its ephemeral records on the master', async () => {
      expect(target.server.storage.kv.kind).toBe('redis');
      await target.server.storage.kv.set('probe', 'x', 60);
      expect(await ask(sentinel.ports[0]!, 'GET', `${prefix}server:probe`)).toBe('x');
    });

    flowCases(() => target);
  });
});
