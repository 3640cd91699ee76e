import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TtlCache } from '../../src/domain/ttl-cache.ts';
import type { KvStore } from '../../src/store/kv/index.ts';
import { RedisKv } from '../../src/store/kv/redis-kv.ts';
import { ProcessCaches, type ListeningState } from '../../src/store/process-caches.ts';
import { StorageUnavailable } from '../../src/store/unavailable.ts';
import { BackendPool, KV_BACKENDS, sleep, uniqueId } from '../support/adapter-backends.ts';
import { REDIS_URL } from '../support/backends.ts';
import { eventually } from './kv-contract.ts';

/** A cache whose loads are counted: a load is a read that the cache did not answer. */
function countedCache() {
  const cache = new TtlCache<string>(60_000);
  let loads = 0;
  return {
    cache,
    loads: () => loads,
    read: (key: string) => cache.get(key, async () => `${key}#${++loads}`),
  };
}

const pool = new BackendPool();
afterAll(() => pool.closeAll());

/**
 * Two processes of one deployment: on the memory tier two ProcessCaches over one store (the
 * embedded tier is one process), on Redis two connections with the same prefix.
 */
for (const backend of KV_BACKENDS) {
  describe.runIf(backend.enabled)(`ProcessCaches on ${backend.title}`, () => {
    const opened = pool.use(backend);
    const extra: KvStore[] = [];
    afterAll(() => Promise.all(extra.map((kv) => kv.close())));
    /** the other process's store: the same one on memory, a second connection on Redis */
    const otherKv = async (): Promise<KvStore> => {
      const { kv, prefix } = opened();
      if (prefix === undefined) return kv;
      const second = new RedisKv(REDIS_URL!, prefix);
      extra.push(second);
      await second.connect();
      return second;
    };

    it('serves nothing before it listens (the CLI never does), and caches once it listens', async () => {
      const caches = new ProcessCaches(opened().kv);
      const clients = countedCache();
      caches.register(uniqueId('clients'), clients.cache);
      await clients.read('a');
      await clients.read('a');
      expect(clients.loads()).toBe(2);
      await caches.listen();
      await clients.read('a');
      await clients.read('a');
      expect(clients.loads()).toBe(3);
    });

    it("drops the entries another process changes, before and after that process's write", async () => {
      const name = uniqueId('clients');
      const [reader, writer] = [new ProcessCaches(opened().kv), new ProcessCaches(await otherKv())];
      const read = countedCache();
      reader.register(name, read.cache);
      writer.register(name, new TtlCache(60_000));
      await Promise.all([reader.listen(), writer.listen()]);
      await read.read('a');
      await read.read('b');
      expect(read.loads()).toBe(2);
      // a read, synchronously counted when the cache does not answer it
      const loadsAfterReading = () => (void read.read('a'), read.loads());
      await writer.changing(name, ['a'], async () => {
        // announced before the write: the reader goes to the database while it runs (old row)
        await eventually(() => loadsAfterReading() === 3);
      });
      // and after it: the old row read meanwhile is gone too
      await eventually(() => loadsAfterReading() === 4);
      await read.read('b');
      expect(read.loads()).toBe(4);
    });

    it("drops every entry of a cache on 'all', and leaves other caches alone", async () => {
      const [apis, clientsName] = [uniqueId('apis'), uniqueId('clients')];
      const [reader, writer] = [new ProcessCaches(opened().kv), new ProcessCaches(await otherKv())];
      const [resourceServers, clients] = [countedCache(), countedCache()];
      reader.register(apis, resourceServers.cache);
      reader.register(clientsName, clients.cache);
      await Promise.all([reader.listen(), writer.listen()]);
      await Promise.all([resourceServers.read('x'), resourceServers.read('default'), clients.read('x')]);
      await writer.changing(apis, 'all', async () => {});
      await eventually(() => (void resourceServers.read('x'), resourceServers.loads() >= 3));
      await sleep(100);
      // 'default' was never named, and is dropped too (then cached again)
      const before = resourceServers.loads();
      await resourceServers.read('default');
      await resourceServers.read('default');
      expect(resourceServers.loads()).toBe(before + 1);
      await clients.read('x');
      expect(clients.loads()).toBe(1);
    });

    it('forgets everything on a message it cannot read', async () => {
      const caches = new ProcessCaches(opened().kv);
      const clients = countedCache();
      caches.register(uniqueId('clients'), clients.cache);
      await caches.listen();
      await clients.read('a');
      await (await otherKv()).publish('cache-invalidation', 'not json');
      await eventually(() => (void clients.read('a'), clients.loads() === 2));
    });

    it('refuses a second cache under one name, and a second listen', async () => {
      const caches = new ProcessCaches(opened().kv);
      const name = uniqueId('clients');
      caches.register(name, new TtlCache(1000));
      expect(() => caches.register(name, new TtlCache(1000))).toThrow(TypeError);
      await caches.listen();
      await expect(caches.listen()).rejects.toThrow(TypeError);
    });
  });
}

const redis = KV_BACKENDS[1]!;
describe.runIf(redis.enabled)(`ProcessCaches when Redis fails${REDIS_URL ? '' : ' (skipped: set TEST_REDIS_URL to run)'}`, () => {
  const opened = pool.use(redis);
  let raw: Redis | undefined;
  beforeAll(() => {
    raw = new Redis(REDIS_URL!);
  });
  afterAll(() => raw?.quit());

  it('a writer that cannot reach Redis changes nothing', async () => {
    const unreachable = new RedisKv('redis://127.0.0.1:1', 'unreachable:', { timeoutMs: 200 });
    const caches = new ProcessCaches(unreachable);
    let wrote = false;
    await expect(caches.changing('clients', ['a'], async () => (wrote = true))).rejects.toBeInstanceOf(StorageUnavailable);
    expect(wrote).toBe(false);
    await unreachable.close();
  });

  it('a lost subscription suspends the caches; they start empty once it is back', async () => {
    const prefix = `${opened().prefix}lost-${uniqueId()}:`;
    const kv = new RedisKv(REDIS_URL!, prefix);
    await kv.connect();
    const caches = new ProcessCaches(kv);
    const clients = countedCache();
    caches.register('clients', clients.cache);
    const states: ListeningState[] = [];
    await caches.listen((state) => states.push(state));
    await clients.read('a');
    const list = String(await raw!.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
    const line = list.split('\n').find((entry) => entry.includes(` name=${prefix}subscriber `))!;
    await raw!.client('KILL', 'ID', /\bid=(\d+)/.exec(line)![1]!);
    await eventually(() => states.length === 2, 5000);
    expect(states).toEqual(['interrupted', 'resumed']);
    // the entry from before the interruption is gone; caching goes on
    await clients.read('a');
    await clients.read('a');
    expect(clients.loads()).toBe(2);
    // and changes are heard again
    const writerKv = new RedisKv(REDIS_URL!, prefix);
    await writerKv.connect();
    await new ProcessCaches(writerKv).changing('clients', ['a'], async () => {});
    await eventually(() => (void clients.read('a'), clients.loads() === 3));
    await writerKv.close();
    await kv.close();
  });
});
