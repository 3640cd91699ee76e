import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { closeConnectionsWhileDraining, healthEndpoints, type Readiness } from '../../src/http/health.ts';
import { probedReadiness } from '../../src/readiness.ts';

const servers: Array<ReturnType<typeof createServer>> = [];
afterEach(() => Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve)))));

async function serve(readiness: Readiness): Promise<string> {
  const app = new Koa();
  app.use(healthEndpoints(readiness));
  app.use(closeConnectionsWhileDraining(readiness));
  app.use((ctx) => {
    ctx.body = 'page';
  });
  const server = createServer(app.callback());
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('health endpoints', () => {
  it('/readyz is 503 while a tier is unreachable, and while draining whatever the tiers say', async () => {
    const readiness: Readiness = { draining: false, check: async () => ({ database: true, kv: false }) };
    const url = await serve(readiness);
    const down = await fetch(`${url}/readyz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ status: 'unavailable', checks: { database: 'ok', kv: 'unavailable' } });
    readiness.check = async () => ({ database: true, kv: true });
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    readiness.draining = true;
    const draining = await fetch(`${url}/readyz`);
    expect(draining.status).toBe(503);
    expect(await draining.json()).toEqual({ status: 'draining' });
    // alive all along, and other responses close their connections while draining
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/`)).headers.get('connection')).toBe('close');
  });
});

describe('probed readiness', () => {
  const key = { kid: 'k1', activatedAt: new Date('2026-11-01T00:00:00Z') };

  it('is ready when both tiers answer and the engine holds the current key; names what is not', async () => {
    let engine = ['k1', 'k0'];
    let database = true;
    let kv = true;
    const readiness = probedReadiness({
      currentKey: async () => {
        if (!database) throw new Error('connection refused');
        return key;
      },
      pingKv: async () => {
        if (!kv) throw new Error('connection refused');
      },
      engineKids: () => engine,
      cacheMs: 0,
    });
    expect(await readiness.check()).toEqual({ database: true, kv: true, keys: true });
    engine = ['k0'];
    expect(await readiness.check()).toEqual({ database: true, kv: true, keys: false });
    engine = ['k1'];
    // the database away: the key it named last still counts
    database = false;
    kv = false;
    expect(await readiness.check()).toEqual({ database: false, kv: false, keys: true });
    expect(await readiness.currentKey()).toEqual(key);
  });

  it('is not ready without a current key', async () => {
    const readiness = probedReadiness({ currentKey: async () => undefined, pingKv: async () => {}, engineKids: () => ['k1'], cacheMs: 0 });
    expect(await readiness.check()).toEqual({ database: true, kv: true, keys: false });
  });

  it('shares one probe among the callers of a moment, and probes again after it', async () => {
    let probes = 0;
    const readiness = probedReadiness({
      currentKey: async () => {
        probes += 1;
        await new Promise((resolve) => setTimeout(resolve, 20));
        return key;
      },
      pingKv: async () => {},
      engineKids: () => ['k1'],
      cacheMs: 200,
    });
    await Promise.all(Array.from({ length: 20 }, () => readiness.check()));
    await readiness.currentKey();
    expect(probes).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 250));
    await readiness.check();
    expect(probes).toBe(2);
  });
});
