import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { useSeededServer } from '../support/relying-party.ts';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request over a raw connection, so that methods and bodies fetch refuses can be sent. */
function send(url: string, options: { method: string; path: string; headers?: Record<string, string>; chunks?: Buffer[] }): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(options.path, url), { method: options.method, headers: options.headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (chunk: Buffer) => parts.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
    });
    req.on('error', reject);
    for (const chunk of options.chunks ?? []) req.write(chunk);
    req.end();
  });
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const OVERSIZE = Buffer.alloc(57 * 1024, 'a');

describe.each(availableBackends())('the HTTP edge on %s', (backend) => {
  const t = useSeededServer(backend);

  it.each(['TRACE', 'PUT', 'DELETE', 'PATCH', 'PROPFIND'])('answers %s with 405 and Allow, as OAuth JSON on protocol endpoints and HTML on pages', async (method) => {
    const api = await send(t.server.url, { method, path: '/token' });
    expect(api.status).toBe(405);
    expect(api.headers.allow).toBe('GET, HEAD, POST, OPTIONS');
    expect(api.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(api.body)).toMatchObject({ error: 'invalid_request' });
    const page = await send(t.server.url, { method, path: '/account', headers: { accept: 'text/html' } });
    expect(page.status).toBe(405);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
  });

  it.each(['/token', '/token/introspection', '/token/revocation', '/me', '/session/end/confirm'])('refuses an over-size body to %s with 413 in the endpoint\'s format, declared or chunked', async (path) => {
    const declared = await send(t.server.url, { method: 'POST', path, headers: { ...FORM, 'content-length': String(OVERSIZE.length) }, chunks: [OVERSIZE] });
    const chunked = await send(t.server.url, { method: 'POST', path, headers: { ...FORM, 'transfer-encoding': 'chunked' }, chunks: [OVERSIZE.subarray(0, 30_000), OVERSIZE.subarray(30_000)] });
    for (const response of [declared, chunked]) {
      expect(response.status).toBe(413);
      if (path !== '/session/end/confirm') expect(JSON.parse(response.body)).toMatchObject({ error: 'invalid_request' });
    }
  });

  it.each([undefined, '*/*', 'text/html', 'image/*'])('answers a refused sign-out confirmation sent with Accept %s as a page, not JSON', async (accept) => {
    const response = await send(t.server.url, { method: 'POST', path: '/session/end/confirm', headers: { ...FORM, 'accept-encoding': 'identity', 'accept-language': 'en', ...(accept ? { accept } : {}) }, chunks: [Buffer.from('xsrf=forged&logout=yes')] });
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.body).toMatch(/^<!doctype html>/i);
  });

  it('still serves a body just under the limit to the engine, chunked or not', async () => {
    const body = Buffer.from(`token=${'x'.repeat(50 * 1024)}`);
    const basic = `Basic ${Buffer.from(`${t.fixture.clientId}:${t.fixture.clientSecret}`).toString('base64')}`;
    for (const framing of [{ 'content-length': String(body.length) }, { 'transfer-encoding': 'chunked' }] as Array<Record<string, string>>) {
      const response = await send(t.server.url, { method: 'POST', path: '/token/introspection', headers: { ...FORM, ...framing, authorization: basic }, chunks: [body] });
      expect(response.status).toBe(200);
      expect(JSON.parse(response.body)).toEqual({ active: false });
    }
  });

  it('reports alive at /healthz and ready at /readyz with each storage tier', async () => {
    expect(await (await fetch(new URL('/healthz', t.server.url))).json()).toEqual({ status: 'ok' });
    const ready = await fetch(new URL('/readyz', t.server.url));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { database: 'ok', kv: 'ok', keys: 'ok' } });
  });
});
