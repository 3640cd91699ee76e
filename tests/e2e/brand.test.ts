import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForMail } from '../support/outbox.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { hiddenField, UserAgent } from '../support/user-agent.ts';

const dir = mkdtempSync(join(tmpdir(), 'postern-brand-'));
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(32)]);
const SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><script>alert(1)</script><rect width="10" height="10"/></svg>';
writeFileSync(join(dir, 'logo.png'), PNG);
writeFileSync(join(dir, 'logo.svg'), SVG);

async function html(server: TestServer, path: string): Promise<string> {
  const response = await fetch(`${server.issuer}${path}`);
  expect(response.status).toBe(200);
  return response.text();
}

describe('the operator brand on pages and in mails', () => {
  let server: TestServer;
  const outbox = join(dir, 'outbox');
  beforeAll(async () => {
    server = await startTestServer('embedded', {
      POSTERN_BRAND_NAME: 'Acme ID',
      POSTERN_BRAND_LOGO: join(dir, 'logo.png'),
      POSTERN_BRAND_ACCENT: '#0b7285',
      POSTERN_BRAND_ACCENT_DARK: '#fab005',
      POSTERN_BRAND_SUPPORT_URL: 'https://help.acme.test/',
      POSTERN_MAIL_OUTBOX: outbox,
    });
  });
  afterAll(() => server?.close());

  it('every page names the product, shows its logo and links its stylesheet and support; "Postern" appears nowhere', async () => {
    for (const path of ['/reset', '/account', '/nowhere']) {
      const response = await fetch(`${server.issuer}${path}`, { redirect: 'follow' });
      const page = await response.text();
      expect(page).toMatch(/<title>[^<]+ · Acme ID<\/title>/);
      expect(page).toMatch(/<header class="brand"><img class="brand-logo" src="\/assets\/brand\/logo-[A-Za-z0-9_-]{22}\.png" alt=""><span class="brand-name">Acme ID<\/span><\/header>/);
      expect(page).toMatch(/<link rel="icon" href="\/assets\/brand\/logo-[A-Za-z0-9_-]{22}\.png" type="image\/png">/);
      expect(page).toContain('<link rel="stylesheet" href="/assets/brand.css">');
      expect(page).toContain('Protected by Acme ID · <a href="https://help.acme.test/">Help and support</a>');
      expect(page).not.toContain('Postern');
      // the CSP stays as strict: no inline style allowed
      expect(response.headers.get('content-security-policy')).toContain("style-src 'self';");
    }
  });

  it('the product name stands in every language\'s words', async () => {
    const page = await (await fetch(`${server.issuer}/reset`, { headers: { 'accept-language': 'de' } })).text();
    expect(page).toContain('Geschützt durch Acme ID · <a href="https://help.acme.test/">Hilfe und Support</a>');
    expect(page).not.toContain('Postern');
  });

  it('the logo is served from the content-hashed path: its bytes, its type, cached for good, nosniff', async () => {
    const page = await html(server, '/reset');
    const path = /src="(\/assets\/brand\/logo-[^"]+)"/.exec(page)![1]!;
    const response = await fetch(`${server.issuer}${path}`);
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(PNG)).toBe(true);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const etag = response.headers.get('etag')!;
    expect((await fetch(`${server.issuer}${path}`, { headers: { 'if-none-match': etag, 'cache-control': 'max-age=0' } })).status).toBe(304);
    // another hash is nothing
    expect((await fetch(`${server.issuer}/assets/brand/logo-AAAAAAAAAAAAAAAAAAAAAA.png`)).status).toBe(404);
  });

  it('brand.css carries the colours with their picked text colour, with an ETag', async () => {
    const response = await fetch(`${server.issuer}/assets/brand.css`);
    expect(response.headers.get('content-type')).toBe('text/css; charset=utf-8');
    const css = await response.text();
    expect(css).toMatch(/^:root \{ --accent: #0b7285; --accent-hover: #[0-9a-f]{6}; --accent-text: #ffffff;/);
    // yellow buttons on dark pages get black text (white would fail 4.5:1)
    expect(css).toMatch(/prefers-color-scheme: dark\) \{ :root \{ --accent: #fab005; --accent-hover: #[0-9a-f]{6}; --accent-text: #000000;/);
    const etag = response.headers.get('etag')!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect((await fetch(`${server.issuer}/assets/brand.css`, { headers: { 'if-none-match': etag, 'cache-control': 'max-age=0' } })).status).toBe(304);
  });

  it('mails are signed with the product name and sent from it', async () => {
    await server.services.accounts.create({ username: 'mailme', email: 'mailme@example.test', emailVerified: true }, 'correct horse battery staple');
    const agent = new UserAgent(server.issuer);
    const form = await agent.get(`${server.issuer}/reset`);
    const since = new Date();
    await agent.post('/reset', { csrf: hiddenField(form.html, 'csrf'), login: 'mailme' });
    const mail = await waitForMail(outbox, { to: 'mailme@example.test', since });
    expect(mail.subject).toBe('Acme ID: Reset your password');
    expect(mail.from).toMatch(/^Acme ID <no-reply@/);
    expect(mail.text).toContain(`at Acme ID (${new URL(server.issuer).host})`);
    expect(mail.text).toMatch(/— Acme ID$/);
    expect(mail.html).toContain('<p>— Acme ID</p>');
    expect(`${mail.subject}${mail.text}${mail.html}${mail.from}`).not.toContain('Postern');
  });
});

describe('an SVG logo', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('embedded', { POSTERN_BRAND_LOGO: join(dir, 'logo.svg') });
  });
  afterAll(() => server?.close());

  it('is only ever an image: shown through <img>, and served alone in a sandbox that runs nothing', async () => {
    const page = await html(server, '/reset');
    const path = /<img class="brand-logo" src="(\/assets\/brand\/logo-[^"]+\.svg)" alt="">/.exec(page)![1]!;
    const response = await fetch(`${server.issuer}${path}`);
    expect(response.headers.get('content-type')).toBe('image/svg+xml');
    expect(response.headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'unsafe-inline'; sandbox");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('without brand settings', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('embedded');
  });
  afterAll(() => server?.close());

  it('pages say Postern, with its own mark and no brand stylesheet or support link', async () => {
    const page = await html(server, '/reset');
    expect(page).toMatch(/<title>[^<]+ · Postern<\/title>/);
    expect(page).toContain('<span class="brand-mark" aria-hidden="true"></span><span class="brand-name">Postern</span>');
    expect(page).toContain('<p>Protected by Postern</p>');
    expect(page).not.toContain('brand.css');
    expect(page).not.toContain('brand-logo');
    expect((await fetch(`${server.issuer}/assets/brand.css`)).status).toBe(404);
  });
});
