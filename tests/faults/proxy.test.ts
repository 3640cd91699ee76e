import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from './support/processes.ts';
import { startRoundRobinProxy, type RoundRobinProxy } from './support/proxy.ts';

/**
 * The harness's own check: the proxy must neither hide an instance's failures nor invent any,
 * or the fault cases would measure the proxy instead of Postern.
 */

let servers: Server[] = [];
let proxy: RoundRobinProxy | undefined;

afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  servers = [];
});

async function backend(handler: RequestListener): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const named = (name: string): RequestListener => (req, res) => {
  if (req.url === '/readyz') return void res.writeHead(404).end();
  let body = '';
  req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name, body, auth: req.headers.authorization ?? null })));
};

const post = (url: string, body = 'grant_type=client_credentials') =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic eDp5' }, body });

describe('the round-robin proxy of the fault suite', () => {
  it('passes requests in turn, with body and headers, and answers with the instance\'s answer', async () => {
    const backends = await Promise.all(['a', 'b', 'c'].map((name) => backend(named(name))));
    proxy = await startRoundRobinProxy();
    proxy.setBackends(backends.map((b) => b.url));
    const answers = [];
    for (let i = 0; i < 6; i += 1) answers.push((await (await post(`${proxy.url}/token`)).json()) as { name: string; body: string; auth: string });
    expect(answers.map((answer) => answer.name).sort()).toEqual(['a', 'a', 'b', 'b', 'c', 'c']);
    expect(answers[0]).toMatchObject({ body: 'grant_type=client_credentials', auth: 'Basic eDp5' });
    expect(proxy.events).toEqual([]);
  });

  it('sends nothing to an instance that refuses connections: the request goes to the next one', async () => {
    const [up, down] = await Promise.all([backend(named('up')), backend(named('down'))]);
    proxy = await startRoundRobinProxy();
    proxy.setBackends([down!.url, up!.url]);
    down!.server.close();
    for (let i = 0; i < 4; i += 1) expect((await (await post(proxy.url)).json()) as object).toMatchObject({ name: 'up' });
    expect(proxy.events.filter((event) => event.kind === 'refused').length).toBeGreaterThan(0);
    expect(proxy.events.filter((event) => event.kind !== 'refused')).toEqual([]);
  });

  it('cuts the client when an instance drops a request it accepted, and never answers for it', async () => {
    const dropper = await backend((req) => req.socket.destroy());
    proxy = await startRoundRobinProxy();
    proxy.setBackends([dropper.url]);
    const failure = await post(proxy.url).then(
      () => undefined,
      (error: { cause?: { code?: string } }) => error.cause?.code,
    );
    expect(failure).toBe('UND_ERR_SOCKET');
    expect(proxy.events.map((event) => event.kind)).toEqual(['cut']);
  });

  it('tells a graceful stop (in-flight requests finish) from an abrupt one (in-flight requests cut)', async () => {
    const slow: RequestListener = (req, res) => {
      if (req.url === '/readyz') return void res.writeHead(404).end();
      req.resume();
      req.on('end', () => setTimeout(() => res.writeHead(200).end('{}'), 300));
    };
    const [graceful, abrupt] = await Promise.all([backend(slow), backend(slow)]);
    proxy = await startRoundRobinProxy();

    proxy.setBackends([graceful!.url]);
    const first = post(proxy.url);
    await sleep(100);
    expect(proxy.inflight(0)).toHaveLength(1);
    graceful!.server.close();
    expect((await first).status).toBe(200);

    proxy.setBackends([abrupt!.url]);
    const second = post(proxy.url).then((response) => response.status, () => 'cut');
    await sleep(100);
    abrupt!.server.closeAllConnections();
    expect(await second).toBe('cut');
    expect(proxy.events.map((event) => event.kind)).toEqual(['cut']);
  });

  it('stops sending to an instance whose /readyz fails, and sends to all when none is ready', async () => {
    let draining = false;
    const drainable = await backend((req, res) => (req.url === '/readyz' ? void res.writeHead(draining ? 503 : 200).end() : named('drainable')(req, res)));
    const steady = await backend(named('steady'));
    proxy = await startRoundRobinProxy();
    proxy.setBackends([drainable.url, steady.url]);
    draining = true;
    await sleep(600);
    expect(proxy.ready(0)).toBe(false);
    for (let i = 0; i < 4; i += 1) expect((await (await post(proxy.url)).json()) as object).toMatchObject({ name: 'steady' });
    steady.server.close();
    steady.server.closeAllConnections();
    await sleep(600);
    expect((await (await post(proxy.url)).json()) as object).toMatchObject({ name: 'drainable' });
  });
});
