import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BLACK, buttonTextFor, contrast, WHITE } from '../../src/brand/colours.ts';
import { brandStylesheet } from '../../src/brand/stylesheet.ts';
import { ConfigError, loadConfig } from '../../src/config.ts';

const dir = mkdtempSync(join(tmpdir(), 'postern-brand-'));
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64)]);
writeFileSync(join(dir, 'logo.png'), PNG);
writeFileSync(join(dir, 'logo.svg'), '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>');
writeFileSync(join(dir, 'logo.gif'), Buffer.from('GIF89a0000000000'));
writeFileSync(join(dir, 'page.html'), '<html><script>alert(1)</script></html>');
writeFileSync(join(dir, 'huge.png'), Buffer.concat([PNG, Buffer.alloc(600 * 1024)]));

const load = (env: Record<string, string>) => loadConfig(env, dir);

function configError(env: Record<string, string>): string {
  try {
    load(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  return expect.unreachable(`no ConfigError for ${JSON.stringify(env)}`);
}

describe('brand settings', () => {
  it('name, logo, colours and support link are read; the mail sender takes the name', () => {
    const config = load({ POSTERN_BRAND_NAME: ' Acme ID ', POSTERN_BRAND_LOGO: 'logo.png', POSTERN_BRAND_ACCENT: '#0B7285', POSTERN_BRAND_ACCENT_DARK: '3bc9db', POSTERN_BRAND_SUPPORT_URL: 'mailto:help@acme.test' });
    expect(config.brand).toEqual({ name: 'Acme ID', logo: { body: PNG, type: 'image/png' }, accent: { light: '#0b7285', dark: '#3bc9db' }, supportUrl: 'mailto:help@acme.test' });
    expect(config.mail.from).toBe('Acme ID <no-reply@localhost>');
    expect(load({ POSTERN_BRAND_NAME: 'Acme, Inc.' }).mail.from).toBe('"Acme, Inc." <no-reply@localhost>');
  });

  it('an SVG logo is accepted; the dark accent defaults to the light one when it stands out on dark cards too', () => {
    const config = load({ POSTERN_BRAND_LOGO: join(dir, 'logo.svg'), POSTERN_BRAND_ACCENT: '#e8590c' });
    expect(config.brand.logo?.type).toBe('image/svg+xml');
    expect(config.brand.accent).toEqual({ light: '#e8590c', dark: '#e8590c' });
  });

  it('a missing, oversized or non-image logo file is refused at startup', () => {
    expect(configError({ POSTERN_BRAND_LOGO: 'missing.png' })).toBe(`POSTERN_BRAND_LOGO: cannot read ${join(dir, 'missing.png')} (ENOENT)`);
    expect(configError({ POSTERN_BRAND_LOGO: 'huge.png' })).toMatch(/must be 1 byte to 512 KiB, it is 601 KiB/);
    expect(configError({ POSTERN_BRAND_LOGO: 'logo.gif' })).toMatch(/is not a PNG, WebP or SVG image/);
    expect(configError({ POSTERN_BRAND_LOGO: 'page.html' })).toMatch(/is not a PNG, WebP or SVG image/);
  });

  it('a colour that is not hex is refused', () => {
    expect(configError({ POSTERN_BRAND_ACCENT: 'blue' })).toBe('POSTERN_BRAND_ACCENT must be a hex colour like #3b5bdb, got "blue"');
    expect(configError({ POSTERN_BRAND_ACCENT: '#12345' })).toMatch(/hex colour/);
    expect(configError({ POSTERN_BRAND_ACCENT: '#3b5bdb', POSTERN_BRAND_ACCENT_DARK: 'rgb(1,2,3)' })).toMatch(/POSTERN_BRAND_ACCENT_DARK must be a hex colour/);
    expect(configError({ POSTERN_BRAND_ACCENT_DARK: '#3b5bdb' })).toBe('POSTERN_BRAND_ACCENT_DARK needs POSTERN_BRAND_ACCENT as well');
  });

  it('a colour that does not stand out from the card (3:1) is refused, light and dark, with the way out', () => {
    expect(configError({ POSTERN_BRAND_ACCENT: '#ffd43b' })).toMatch(/^POSTERN_BRAND_ACCENT=#ffd43b has a contrast of 1\.\d\d:1 with the light page's card \(#ffffff\); buttons need at least 3:1 \(WCAG 1\.4\.11\): choose a darker colour$/);
    // a dark navy is fine on white but vanishes on the dark card: the dark variant is asked for
    expect(configError({ POSTERN_BRAND_ACCENT: '#1c2a5a' })).toMatch(/dark page's card.*set POSTERN_BRAND_ACCENT_DARK/);
    expect(load({ POSTERN_BRAND_ACCENT: '#1c2a5a', POSTERN_BRAND_ACCENT_DARK: '#91a7ff' }).brand.accent).toEqual({ light: '#1c2a5a', dark: '#91a7ff' });
  });

  it('a support link must be a web or mailto URL', () => {
    expect(configError({ POSTERN_BRAND_SUPPORT_URL: 'javascript:alert(1)' })).toMatch(/POSTERN_BRAND_SUPPORT_URL must start with https:\/\/ or http:\/\/ or mailto:\/\//);
    expect(configError({ POSTERN_BRAND_SUPPORT_URL: 'not a url' })).toBe('POSTERN_BRAND_SUPPORT_URL is not a valid URL');
  });

  it('a name with control characters or longer than 60 characters is refused', () => {
    expect(configError({ POSTERN_BRAND_NAME: 'a\nb' })).toMatch(/POSTERN_BRAND_NAME/);
    expect(configError({ POSTERN_BRAND_NAME: 'x'.repeat(61) })).toMatch(/POSTERN_BRAND_NAME/);
  });
});

describe('button text on the accent', () => {
  it('is white or black, whichever reaches 4.5:1 — for every grey there is one', () => {
    for (let value = 0; value < 256; value += 1) {
      const grey = `#${value.toString(16).padStart(2, '0').repeat(3)}`;
      expect(contrast(grey, buttonTextFor(grey))).toBeGreaterThanOrEqual(4.5);
    }
    expect(buttonTextFor('#0b7285')).toBe(WHITE);
    expect(buttonTextFor('#fab005')).toBe(BLACK);
  });

  it('the stylesheet sets the colours for light and dark pages, hover shades keeping the contrast', () => {
    const css = brandStylesheet({ light: '#0b7285', dark: '#fab005' });
    expect(css).toMatch(/^:root \{ --accent: #0b7285; --accent-hover: #[0-9a-f]{6}; --accent-text: #ffffff; --ring: #0b728573; \}/);
    expect(css).toMatch(/@media \(prefers-color-scheme: dark\) \{ :root \{ --accent: #fab005; --accent-hover: #[0-9a-f]{6}; --accent-text: #000000;/);
    for (const [, hover, text] of css.matchAll(/--accent-hover: (#[0-9a-f]{6}); --accent-text: (#[0-9a-f]{6})/g)) {
      expect(contrast(hover!, text!)).toBeGreaterThanOrEqual(4.5);
    }
  });
});
