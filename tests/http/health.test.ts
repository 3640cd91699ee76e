import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { closeConnectionsWhileDraining, healthEndpoints, type Readiness } from '../../src/http/health.ts';

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
