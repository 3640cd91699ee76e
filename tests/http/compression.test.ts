import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { useSeededServer } from '../support/relying-party.ts';
import { formAction, hiddenField, UserAgent } from '../support/user-agent.ts';

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One GET with exactly these headers (fetch would add its own Accept-Encoding and decode). */
function get(base: string, path: string, headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const STYLESHEET = readFileSync(new URL('../../views/static/style.css', import.meta.url));

describe('compression and the stylesheet ETag', () => {
  const t = useSeededServer('embedded');

  it('sends the stylesheet brotli-compressed when the browser takes br, and gzip when it takes only gzip', async () => {
    const br = await get(t.server.issuer, '/assets/style.css', { 'accept-encoding': 'gzip, deflate, br' });
    expect(br.status).toBe(200);
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers.vary).toMatch(/accept-encoding/i);
    expect(br.body.length).toBeLessThan(STYLESHEET.length / 2);
    expect(brotliDecompressSync(br.body).equals(STYLESHEET)).toBe(true);

    const gzip = await get(t.server.issuer, '/assets/style.css', { 'accept-encoding': 'gzip' });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gzip.body).equals(STYLESHEET)).toBe(true);
  });

  it('sends it as it is to a client that takes no encoding, still saying that the answer varies by it', async () => {
    const plain = await get(t.server.issuer, '/assets/style.css');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.vary).toMatch(/accept-encoding/i);
    expect(plain.body.equals(STYLESHEET)).toBe(true);
    const refused = await get(t.server.issuer, '/assets/style.css', { 'accept-encoding': 'identity' });
    expect(refused.headers['content-encoding']).toBeUndefined();
    // an unreadable header or one that takes no coding: the file as it is, never an error
    for (const odd of ['*;q=garbage', 'identity;q=0', 'br;q=0, gzip;q=0, *;q=0']) {
      const answer = await get(t.server.issuer, '/reset', { 'accept-encoding': odd });
      expect(answer.status, odd).toBe(200);
      expect(answer.body.toString(), odd).toContain('<h1>Reset your password</h1>');
    }
  });

  it('compresses pages, and leaves protocol JSON alone', async () => {
    const page = await get(t.server.issuer, '/reset', { 'accept-encoding': 'gzip' });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(page.body).toString()).toContain('<h1>Reset your password</h1>');

    const jwks = await get(t.server.issuer, '/jwks', { 'accept-encoding': 'gzip, br' });
    expect(jwks.status).toBe(200);
    expect(jwks.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(jwks.body.toString()).keys.length).toBeGreaterThan(0);
  });

  it('answers 304 without a body to a browser that has the current stylesheet, and 200 to one that has another', async () => {
    const first = await get(t.server.issuer, '/assets/style.css', { 'accept-encoding': 'br' });
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^W\/"[\w-]+"$/);
    const again = await get(t.server.issuer, '/assets/style.css', { 'accept-encoding': 'br', 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect(again.headers.etag).toBe(etag);
    const stale = await get(t.server.issuer, '/assets/style.css', { 'if-none-match': 'W/"an-older-stylesheet"' });
    expect(stale.status).toBe(200);
    expect(stale.body.equals(STYLESHEET)).toBe(true);
  });

  it('masks the form token anew on every page, so compressed pages never repeat it; each masked copy still works', async () => {
    const agent = new UserAgent(t.server.issuer);
    const first = await agent.follow(new URL('/reset', t.server.issuer).href);
    const second = await agent.follow(new URL('/reset', t.server.issuer).href);
    const [a, b] = [hiddenField(first.html, 'csrf'), hiddenField(second.html, 'csrf')];
    expect(a).not.toBe(b);
    const sent = await agent.post(formAction(first.html), { csrf: a, login: 'nobody' });
    expect(sent.status).toBe(200);
    expect(sent.html).toContain('Check your email');

    // a token masked for another browser is refused
    const other = new UserAgent(t.server.issuer);
    await other.follow(new URL('/reset', t.server.issuer).href);
    const refused = await other.post(formAction(first.html), { csrf: b, login: 'nobody' });
    expect(refused.status).toBe(403);
  });
});
