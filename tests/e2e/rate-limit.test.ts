import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { availableBackends, backendEnv, type BackendEnv } from '../support/backends.ts';
import { startAuthorization, useSeededServer } from '../support/relying-party.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { formAction, hiddenField, UserAgent } from '../support/user-agent.ts';
import { logLines } from '../support/log-capture.ts';

const LIMITS = {
  POSTERN_TRUST_PROXY: 'true',
  POSTERN_RATE_LIMIT_TOKEN: '5/5s',
  POSTERN_RATE_LIMIT_INTROSPECTION: '3/1m',
  POSTERN_RATE_LIMIT_REVOCATION: '3/1m',
  POSTERN_RATE_LIMIT_USERINFO: '3/1m',
  POSTERN_RATE_LIMIT_LOGIN: '3/1m',
  POSTERN_RATE_LIMIT_REGISTRATION: '2/1m',
  POSTERN_RATE_LIMIT_PASSWORD_RESET: '2/1m',
};

const RATE_LIMIT_HEADERS = ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'ratelimit-policy'];

let addresses = 0;
/** A client address of its own, so that each test starts with a fresh per-IP budget. */
function nextIp(): string {
  addresses += 1;
  return `198.51.${Math.floor(addresses / 250)}.${(addresses % 250) + 1}`;
}

function basic(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

interface Call {
  ip?: string;
  authorization?: string;
  form?: Record<string, string>;
  method?: string;
  accept?: string;
}

function send(server: TestServer, path: string, call: Call = {}): Promise<Response> {
  const headers = new Headers({ accept: call.accept ?? 'application/json' });
  if (call.ip) headers.set('x-forwarded-for', call.ip);
  if (call.authorization) headers.set('authorization', call.authorization);
  const method = call.method ?? (call.form ? 'POST' : 'GET');
  if (method === 'POST') headers.set('content-type', 'application/x-www-form-urlencoded');
  return fetch(new URL(path, server.url), { method, headers, body: method === 'POST' ? new URLSearchParams(call.form ?? {}) : undefined, redirect: 'manual' });
}

async function newService(server: TestServer, name = 'Service'): Promise<{ clientId: string; authorization: string }> {
  const { client, clientSecret } = await server.services.clients.create({ name, type: 'confidential', grantTypes: ['client_credentials'] });
  return { clientId: client.clientId, authorization: basic(client.clientId, clientSecret!) };
}

function clientCredentials(server: TestServer, authorization: string, ip: string, path = '/token'): Promise<Response> {
  return send(server, path, { ip, authorization, form: { grant_type: 'client_credentials', scope: 'read' } });
}

function remaining(response: Response): number {
  return Number(response.headers.get('ratelimit-remaining'));
}

async function expectJsonRefusal(response: Response, windowSeconds: number) {
  expect(response.status).toBe(429);
  const retryAfter = Number(response.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(windowSeconds);
  expect(response.headers.get('ratelimit-remaining')).toBe('0');
  expect(Number(response.headers.get('ratelimit-reset'))).toBe(retryAfter);
  expect(response.headers.get('cache-control')).toBe('no-store');
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = await response.json();
  expect(body).toEqual({ error: 'too_many_requests', error_description: expect.stringMatching(/try again in \d+ seconds?/i) });
  return retryAfter;
}

async function expectHtmlRefusal(response: Response, windowSeconds: number) {
  expect(response.status).toBe(429);
  const retryAfter = Number(response.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(windowSeconds);
  expect(response.headers.get('ratelimit-remaining')).toBe('0');
  expect(response.headers.get('content-type')).toMatch(/^text\/html/);
  expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  const html = await response.text();
  expect(html).toContain('too_many_requests');
  expect(html).toMatch(/try again in (1 minute|\d+ minutes)\./i);
  expect(html).not.toMatch(/seconds?/i);
}

describe.each(availableBackends())('rate limits on %s', (backend) => {
  const t = useSeededServer(backend, LIMITS);

  describe('token endpoint (5 per 5 s)', () => {
    it('counts down on the first five requests, refuses the sixth with 429 and Retry-After, and serves again after the window', async () => {
      const service = await newService(t.server);
      const ip = nextIp();
      const seen: number[] = [];
      for (let i = 0; i < 5; i += 1) {
        const response = await clientCredentials(t.server, service.authorization, ip);
        expect(response.status).toBe(200);
        expect(response.headers.get('ratelimit-limit')).toBe('5');
        expect(response.headers.get('ratelimit-policy')).toBe('5;w=5');
        const reset = Number(response.headers.get('ratelimit-reset'));
        expect(reset).toBeGreaterThanOrEqual(1);
        expect(reset).toBeLessThanOrEqual(5);
        expect(response.headers.get('retry-after')).toBeNull();
        seen.push(remaining(response));
        await response.arrayBuffer();
      }
      expect(seen).toEqual([4, 3, 2, 1, 0]);

      const refused = await clientCredentials(t.server, service.authorization, ip);
      const retryAfter = await expectJsonRefusal(refused, 5);
      expect(refused.headers.get('ratelimit-limit')).toBe('5');
      expect(refused.headers.get('ratelimit-policy')).toBe('5;w=5');

      // a counter's remaining time is reported in whole seconds, rounded to the nearest one by Redis
      await sleep(retryAfter * 1000 + 600);
      const again = await clientCredentials(t.server, service.authorization, ip);
      expect(again.status).toBe(200);
      expect(remaining(again)).toBe(4);
      expect(await again.json()).toHaveProperty('access_token');
    });

    it('keeps a budget per client_id: one client coming from ever new addresses still runs into it', async () => {
      const service = await newService(t.server);
      const ips = Array.from({ length: 6 }, nextIp);
      for (const ip of ips.slice(0, 5)) {
        const response = await clientCredentials(t.server, service.authorization, ip);
        expect(response.status).toBe(200);
        await response.arrayBuffer();
      }
      await expectJsonRefusal(await clientCredentials(t.server, service.authorization, ips[5]!), 5);
      // the address itself still has budget: another client from it is served
      const other = await newService(t.server, 'Other service');
      const response = await clientCredentials(t.server, other.authorization, ips[5]!);
      expect(response.status).toBe(200);
      expect(remaining(response)).toBe(3);
    });

    it('keeps a budget per client IP: two clients from one address share it', async () => {
      const [first, second, elsewhere] = [await newService(t.server, 'First'), await newService(t.server, 'Second'), await newService(t.server, 'Elsewhere')];
      const ip = nextIp();
      const remainders: number[] = [];
      for (const service of [first, second, first, second, first]) {
        const response = await clientCredentials(t.server, service.authorization, ip);
        expect(response.status).toBe(200);
        remainders.push(remaining(response));
        await response.arrayBuffer();
      }
      // the tighter of the two budgets is reported: the address's
      expect(remainders).toEqual([4, 3, 2, 1, 0]);
      await expectJsonRefusal(await clientCredentials(t.server, second.authorization, ip), 5);
      const response = await clientCredentials(t.server, elsewhere.authorization, nextIp());
      expect(response.status).toBe(200);
    });

    it('counts requests whose credentials are garbage or forged by address, so rotating them does not escape the limit', async () => {
      const ip = nextIp();
      const forged = [
        'Basic !!!not base64!!!',
        `Basic ${Buffer.from('%E0%A4%A:secret').toString('base64')}`,
        `Basic ${Buffer.from(`${'x'.repeat(5000)}:secret`).toString('base64')}`,
        `Basic ${Buffer.from(':only-a-secret').toString('base64')}`,
        basic('made-up-client-1', 'secret'),
        basic('made-up-client-2', 'secret'),
      ];
      for (const [index, authorization] of forged.entries()) {
        const response = await send(t.server, '/token', { ip, authorization, form: { grant_type: 'client_credentials' } });
        if (index < 5) {
          expect(response.status).toBeGreaterThanOrEqual(400);
          expect(response.status).toBeLessThan(500);
          expect(remaining(response)).toBe(4 - index);
          await response.arrayBuffer();
        } else {
          await expectJsonRefusal(response, 5);
        }
      }
    });

    it('counts /TOKEN and /token/ with /token: the engine serves them all', async () => {
      const service = await newService(t.server);
      const ip = nextIp();
      const remainders: number[] = [];
      for (const path of ['/token', '/TOKEN', '/token/', '/Token/']) {
        const response = await clientCredentials(t.server, service.authorization, ip, path);
        expect(response.status).toBe(200);
        remainders.push(remaining(response));
        await response.arrayBuffer();
      }
      expect(remainders).toEqual([4, 3, 2, 1]);
    });

    it('groups IPv6 addresses by /64 and reads an IPv4-mapped address as the IPv4 one', async () => {
      const sameSubscriber = ['2001:db8:5:6::1', '2001:db8:5:6:ffff::9', '2001:DB8:5:6:0:0:0:abcd'];
      for (const [index, ip] of [...sameSubscriber, ...sameSubscriber.slice(0, 2)].entries()) {
        const response = await send(t.server, '/token', { ip, form: { grant_type: 'client_credentials' } });
        expect(remaining(response)).toBe(4 - index);
        await response.arrayBuffer();
      }
      await expectJsonRefusal(await send(t.server, '/token', { ip: '2001:db8:5:6:1::1', form: { grant_type: 'client_credentials' } }), 5);
      const neighbour = await send(t.server, '/token', { ip: '2001:db8:5:7::1', form: { grant_type: 'client_credentials' } });
      expect(remaining(neighbour)).toBe(4);

      const ipv4 = nextIp();
      await (await send(t.server, '/token', { ip: ipv4, form: { grant_type: 'client_credentials' } })).arrayBuffer();
      const mapped = await send(t.server, '/token', { ip: `::ffff:${ipv4}`, form: { grant_type: 'client_credentials' } });
      expect(remaining(mapped)).toBe(3);
    });
  });

  describe('introspection, revocation and userinfo (3 per minute)', () => {
    it('limits introspection', async () => {
      const service = await newService(t.server);
      const ip = nextIp();
      for (let i = 0; i < 3; i += 1) {
        const response = await send(t.server, '/token/introspection', { ip, authorization: service.authorization, form: { token: 'unknown' } });
        expect(response.status).toBe(200);
        expect(await response.json()).toEqual({ active: false });
        expect(remaining(response)).toBe(2 - i);
        expect(response.headers.get('ratelimit-policy')).toBe('3;w=60');
      }
      await expectJsonRefusal(await send(t.server, '/token/introspection', { ip, authorization: service.authorization, form: { token: 'unknown' } }), 60);
    });

    it('limits revocation, also when client authentication fails', async () => {
      const service = await newService(t.server);
      const ip = nextIp();
      for (let i = 0; i < 3; i += 1) {
        const response = await send(t.server, '/token/revocation', { ip, authorization: i === 1 ? basic(service.clientId, 'wrong secret') : service.authorization, form: { token: 'unknown' } });
        expect(response.status).toBe(i === 1 ? 401 : 200);
        expect(remaining(response)).toBe(2 - i);
        await response.arrayBuffer();
      }
      await expectJsonRefusal(await send(t.server, '/token/revocation', { ip, authorization: service.authorization, form: { token: 'unknown' } }), 60);
    });

    it('limits userinfo on GET and POST alike, answering JSON without a Bearer challenge', async () => {
      const ip = nextIp();
      const calls: Call[] = [
        { ip, authorization: 'Bearer not-a-token' },
        { ip, authorization: 'Bearer not-a-token', form: {} },
        { ip, authorization: 'Bearer not-a-token' },
      ];
      for (const [index, call] of calls.entries()) {
        const response = await send(t.server, '/me', call);
        expect(response.status).toBe(401);
        expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
        expect(remaining(response)).toBe(2 - index);
        await response.arrayBuffer();
      }
      const refused = await send(t.server, '/me', { ip, authorization: 'Bearer not-a-token', form: {} });
      expect(refused.headers.get('www-authenticate')).toBeNull();
      await expectJsonRefusal(refused, 60);
    });
  });

  describe('pages', () => {
    it('limits login posts per address with an HTML 429 page, whatever the password', async () => {
      const agent = new UserAgent(t.server.issuer);
      const start = await startAuthorization(t.config);
      let page = await agent.get(start.url.toString());
      expect(page.html).toContain('name="password"');
      const action = new URL(formAction(page.html), t.server.issuer).toString();
      const ip = nextIp();
      const submit = (password: string, from = ip) =>
        agent.request(action, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': from, accept: 'text/html' },
          body: new URLSearchParams({ csrf: hiddenField(page.html, 'csrf'), login: t.fixture.username, password }),
        });
      for (let i = 0; i < 3; i += 1) {
        const response = await submit('wrong password');
        expect(response.status).not.toBe(429);
        expect(remaining(response)).toBe(2 - i);
        page = { ...page, html: await response.text() };
        if (!page.html.includes('name="csrf"')) page = await agent.get(start.url.toString());
      }
      await expectHtmlRefusal(await submit(t.fixture.password), 60);
      // the same form from another address is still served
      const elsewhere = await submit(t.fixture.password, nextIp());
      expect(elsewhere.status).not.toBe(429);
      expect(remaining(elsewhere)).toBe(2);
      await elsewhere.arrayBuffer();
    });

    it('counts the second-factor step with the password step', async () => {
      const ip = nextIp();
      const steps = ['/interaction/some-uid/login', '/interaction/some-uid/totp', '/interaction/other-uid/TOTP/'];
      for (const [index, path] of steps.entries()) {
        const response = await send(t.server, path, { ip, form: { code: '123456' }, accept: 'text/html' });
        expect(response.status).not.toBe(429);
        expect(remaining(response)).toBe(2 - index);
        await response.arrayBuffer();
      }
      await expectHtmlRefusal(await send(t.server, '/interaction/some-uid/totp', { ip, form: { code: '123456' }, accept: 'text/html' }), 60);
    });

    it('limits registration posts', async () => {
      const ip = nextIp();
      for (let i = 0; i < 2; i += 1) {
        const response = await send(t.server, '/register', { ip, form: { email: `new${i}@example.test` }, accept: 'text/html' });
        expect(response.status).not.toBe(429);
        expect(remaining(response)).toBe(1 - i);
        await response.arrayBuffer();
      }
      await expectHtmlRefusal(await send(t.server, '/register', { ip, form: { email: 'new@example.test' }, accept: 'text/html' }), 60);
    });

    it('limits password reset requests and completions together', async () => {
      const ip = nextIp();
      for (const [index, path] of ['/reset', '/reset/complete'].entries()) {
        const response = await send(t.server, path, { ip, form: { email: 'alice@example.test' }, accept: 'text/html' });
        expect(response.status).not.toBe(429);
        expect(remaining(response)).toBe(1 - index);
        await response.arrayBuffer();
      }
      await expectHtmlRefusal(await send(t.server, '/reset', { ip, form: { email: 'alice@example.test' }, accept: 'text/html' }), 60);
    });
  });

  it('never counts or marks paths that are not limited, even for an address whose budgets are spent', async () => {
    const ip = nextIp();
    for (let i = 0; i < 6; i += 1) await (await send(t.server, '/token', { ip, form: { grant_type: 'client_credentials' } })).arrayBuffer();
    const start = await startAuthorization(t.config);
    const calls: Array<[string, Call]> = [
      ['/jwks', { ip }],
      ['/.well-known/openid-configuration', { ip }],
      ['/token', { ip, method: 'GET' }],
      ['/token', { ip, method: 'OPTIONS' }],
      [start.url.pathname + start.url.search, { ip, accept: 'text/html' }],
      ['/interaction/some-uid', { ip, accept: 'text/html' }],
      ['/interaction/some-uid/abort', { ip, accept: 'text/html' }],
      ['/register', { ip, accept: 'text/html' }],
      ['/reset', { ip, accept: 'text/html' }],
      ['/assets/style.css', { ip }],
    ];
    for (const [path, call] of calls) {
      const response = await send(t.server, path, call);
      expect(response.status, path).not.toBe(429);
      for (const header of [...RATE_LIMIT_HEADERS, 'retry-after']) expect(response.headers.get(header), `${header} on ${path}`).toBeNull();
      await response.arrayBuffer();
    }
    const jwks = await send(t.server, '/jwks', { ip });
    expect(jwks.status).toBe(200);
  });
});

describe.each(availableBackends())('rate limit settings and failures on %s', (backend) => {
  const { lines, sink } = logLines();
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(backend, { POSTERN_RATE_LIMIT_TOKEN: 'off', POSTERN_RATE_LIMIT_INTROSPECTION: '2/1m' }, createLogger('error', sink));
  });
  afterAll(() => server?.close());

  it('counts nothing on an endpoint whose limit is off', async () => {
    for (let i = 0; i < 3; i += 1) {
      const response = await send(server, '/token', { form: { grant_type: 'client_credentials' } });
      expect(response.status).not.toBe(429);
      for (const header of RATE_LIMIT_HEADERS) expect(response.headers.get(header)).toBeNull();
      await response.arrayBuffer();
    }
  });

  it('lets requests through uncounted when the counters cannot be reached, and logs it once per interval', async () => {
    const kv = server.storage.kv;
    const increment = kv.increment;
    kv.increment = () => Promise.reject(new Error('counter store unreachable'));
    try {
      for (let i = 0; i < 3; i += 1) {
        const response = await send(server, '/token/introspection', { authorization: basic('nobody', 'nothing'), form: { token: 'x' } });
        expect(response.status).toBe(401);
        expect(await response.json()).toMatchObject({ error: 'invalid_client' });
        expect(response.headers.get('ratelimit-limit')).toBeNull();
      }
    } finally {
      kv.increment = increment;
    }
    const logged = lines.filter((line) => line.includes('rate limit counters unavailable'));
    expect(logged).toHaveLength(1);
    expect(JSON.parse(logged[0]!)).toMatchObject({ level: 50, endpoint: 'introspection', err: { message: 'counter store unreachable' } });

    const counted = await send(server, '/token/introspection', { authorization: basic('nobody', 'nothing'), form: { token: 'x' } });
    expect(counted.status).toBe(401);
    expect(remaining(counted)).toBe(1);
  });
});

describe.runIf(availableBackends().includes('postgres+redis'))('two instances on one PostgreSQL and Redis', () => {
  let shared: BackendEnv;
  const instances: TestServer[] = [];

  beforeAll(async () => {
    shared = await backendEnv('postgres+redis');
    // the embedded defaults are overridden by the shared database, Redis prefix and master key
    for (let i = 0; i < 2; i += 1) instances.push(await startTestServer('embedded', { ...shared.env, ...LIMITS }));
  });
  afterAll(async () => {
    for (const instance of instances) await instance.close();
    await shared?.cleanup();
  });

  it('spend one budget', async () => {
    const [a, b] = instances as [TestServer, TestServer];
    expect(a.storage.kv.kind).toBe('redis');
    await a.services.resourceServers.create({ identifier: 'https://api.example.test', name: 'API', isDefault: true, access: 'open', scopes: [{ scope: 'read' }] });
    const service = await newService(a);
    const ip = nextIp();
    const remainders: number[] = [];
    for (const instance of [a, b, a, b, a]) {
      const response = await clientCredentials(instance, service.authorization, ip);
      expect(response.status).toBe(200);
      remainders.push(remaining(response));
      await response.arrayBuffer();
    }
    expect(remainders).toEqual([4, 3, 2, 1, 0]);
    await expectJsonRefusal(await clientCredentials(b, service.authorization, ip), 5);
    await expectJsonRefusal(await clientCredentials(a, service.authorization, nextIp()), 5);
  });
});
