import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

describe('readiness of the signing keys, on a server without metrics settings', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(availableBackends().at(-1)!);
  });
  afterAll(() => server?.close());

  it('has no /metrics', async () => {
    const response = await fetch(new URL('/metrics', server.url), { headers: { authorization: 'Bearer x' } });
    expect(response.status).toBe(404);
    expect(server.metricsUrl).toBeUndefined();
  });

  it('is not ready once the database names a current key the engine does not hold', async () => {
    const readyz = new URL('/readyz', server.url);
    expect(await (await fetch(readyz)).json()).toEqual({ status: 'ready', checks: { database: 'ok', kv: 'ok', keys: 'ok' } });
    const db = server.storage.db;
    const current = await db('signing_keys').where({ status: 'current' }).first();
    await db.transaction(async (trx) => {
      await trx('signing_keys').where({ kid: current.kid }).update({ status: 'previous' });
      await trx('signing_keys').insert({ ...current, kid: 'not-in-the-engine', status: 'current' });
    });
    // the probe's answer is reused for a second
    const deadline = Date.now() + 5000;
    let answer: Response;
    do {
      answer = await fetch(readyz);
      if (answer.status === 503) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    } while (Date.now() < deadline);
    expect(answer.status).toBe(503);
    expect(await answer.json()).toEqual({ status: 'unavailable', checks: { database: 'ok', kv: 'ok', keys: 'unavailable' } });
  });
});
