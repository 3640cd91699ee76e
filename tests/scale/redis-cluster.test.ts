import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvModelStore } from '../../src/oidc/adapter/kv-model-store.ts';
import { RedisKv } from '../../src/store/kv/redis-kv.ts';
import { adapterContract } from '../adapter/adapter-contract.ts';
import { eventually, kvContract, recorder } from '../store/kv-contract.ts';
import { uniqueId } from '../support/adapter-backends.ts';
import { ask, redisUnavailable, startRedisCluster, type OwnTopology } from '../support/redis-topologies.ts';
import { discover, seed } from '../support/relying-party.ts';
import { startTestServer } from '../support/test-server.ts';
import { flowCases, type FlowTarget } from './flow-cases.ts';
import { ownDatabase } from './storage.ts';

// A Redis Cluster of three masters of the suite's own (redis-server --cluster-enabled yes on random
// loopback ports): the storage contracts and the protocol flows run on it as on one server.
const unavailable = redisUnavailable();

describe.runIf(!unavailable)(`on a Redis Cluster of three masters${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let cluster: OwnTopology;
  let kv: RedisKv;
  const prefix = `postern-test-${randomBytes(4).toString('hex')}:`;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    kv = new RedisKv(cluster.url, prefix);
    await kv.connect();
  });
  afterAll(async () => {
    await kv?.close();
    await cluster?.close();
  });

  describe('KvStore contract', () => kvContract(() => kv));

  describe('Adapter contract (KvModelStore)', () => adapterContract((model) => new KvModelStore(kv, model)));

  it('reads and deletes many keys spread over every node in one call', async () => {
    const keys = Array.from({ length: 30 }, () => uniqueId('spread'));
    await Promise.all(keys.map((key, i) => kv.set(key, String(i), 60)));
    const perNode = await Promise.all(cluster.ports.map(async (port) => Number(await ask(port, 'DBSIZE'))));
    expect(perNode.every((count) => count > 0)).toBe(true);
    expect(await kv.getMany([...keys, uniqueId('missing')])).toEqual([...keys.map((_, i) => String(i)), undefined]);
    await kv.del(keys);
    expect(await kv.getMany(keys)).toEqual(keys.map(() => undefined));
  });

  it('delivers what is published through any node to a subscriber on another', async () => {
    const channel = uniqueId('channel');
    const heard = recorder();
    const stop = await kv.subscribe(channel, heard);
    for (const port of cluster.ports) await ask(port, 'PUBLISH', `${prefix}${channel}`, `via ${port}`);
    await eventually(() => heard.messages.length === cluster.ports.length);
    expect(heard.messages.sort()).toEqual(cluster.ports.map((port) => `via ${port}`).sort());
    await stop();
  });

  describe('the protocol flows on a server whose ephemeral tier is the cluster', () => {
    const target = {} as FlowTarget;
    let drop = async () => {};
    beforeAll(async () => {
      const database = await ownDatabase();
      drop = database.drop;
      target.server = await startTestServer('embedded', { ...database.env, REDIS_URL: cluster.url, POSTERN_REDIS_PREFIX: `${prefix}server:` });
      target.fixture = await seed(target.server);
      target.config = await discover(target.server, target.fixture);
    });
    afterAll(async () => {
      await target.server?.close();
      await drop();
    });

    it('runs on the cluster', () => {
      expect(target.server.storage.kv.kind).toBe('redis');
    });

    flowCases(() => target);
  });

  // last: it leaves the cluster with a node down
  it('a subscriber whose node goes away moves to another node, reports the gap, and hears what is published after', async () => {
    const channel = uniqueId('channel');
    const heard = recorder();
    const stop = await kv.subscribe(channel, heard);
    const clients = await Promise.all(cluster.ports.map(async (port) => String(await ask(port, 'CLIENT', 'LIST'))));
    const home = cluster.ports[clients.findIndex((list) => list.includes(` name=${prefix}subscriber `))]!;
    await cluster.kill(home);
    await eventually(() => heard.events.join() === 'interrupted,resumed', 15_000);
    const other = cluster.ports.find((port) => port !== home)!;
    await ask(other, 'PUBLISH', `${prefix}${channel}`, 'after the move');
    await eventually(() => heard.messages.includes('after the move'));
    await stop();
  });
});
