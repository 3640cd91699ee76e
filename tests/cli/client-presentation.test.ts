import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { PNG_LOGO, SVG_LOGO } from '../support/images.ts';
import { createSandbox, errorLines, parseJson, type Sandbox } from './support/cli.ts';

interface ClientJson {
  clientId: string;
  links: { clientUri: string | null; policyUri: string | null; tosUri: string | null };
  logo: { sha256: string; type: string } | null;
}

describe.each(availableBackends())('postern client update: links and logo, on %s', { timeout: 300_000 }, (backend) => {
  let cli: Sandbox;
  let files: string;
  let clientId: string;

  beforeAll(async () => {
    cli = await createSandbox(backend);
    files = await mkdtemp(join(tmpdir(), 'postern-cli-logo-'));
    await writeFile(join(files, 'logo.png'), PNG_LOGO);
    await writeFile(join(files, 'logo.svg'), SVG_LOGO);
    await writeFile(join(files, 'big.png'), Buffer.concat([PNG_LOGO, Buffer.alloc(300 * 1024)]));
    clientId = parseJson<ClientJson>(await cli.run(['client', 'create', '--name', 'Shop', '--public', '--redirect-uri', 'http://localhost:9000/cb', '--policy-uri', 'https://shop.example.test/privacy', '--json'])).clientId;
  });
  afterAll(async () => {
    await cli?.cleanup();
    await rm(files, { recursive: true, force: true });
  });

  it('sets the links and the logo from a file, shows them, and removes them', async () => {
    const set = await cli.run(['client', 'update', clientId, '--client-uri', 'https://shop.example.test/', '--tos-uri', 'https://shop.example.test/terms', '--logo-file', join(files, 'logo.png')]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/home page +https:\/\/shop\.example\.test\//);
    expect(set.stdout).toMatch(/privacy policy +https:\/\/shop\.example\.test\/privacy/);
    expect(set.stdout).toMatch(/terms of service +https:\/\/shop\.example\.test\/terms/);
    expect(set.stdout).toMatch(/logo +image\/png, sha256 [0-9a-f]{16}…/);

    const removed = parseJson<ClientJson>(await cli.run(['client', 'update', clientId, '--no-policy-uri', '--no-logo', '--json']));
    expect(removed.links).toEqual({ clientUri: 'https://shop.example.test/', policyUri: null, tosUri: 'https://shop.example.test/terms' });
    expect(removed.logo).toBeNull();
  });

  it('refuses an http link, an SVG, an oversized or missing file in one line, and changes nothing', async () => {
    const before = await cli.run(['client', 'show', clientId, '--json']);
    const http = await cli.run(['client', 'update', clientId, '--policy-uri', 'http://shop.example.test/privacy', '--logo-file', join(files, 'logo.png')]);
    expect(http.code).toBe(1);
    expect(errorLines(http)).toEqual(['postern: policy_uri: "http://shop.example.test/privacy" must use https (http is allowed for localhost only)']);
    const svg = await cli.run(['client', 'update', clientId, '--logo-file', join(files, 'logo.svg')]);
    expect(svg.code).toBe(1);
    expect(errorLines(svg)).toEqual(['postern: SVG logos are not accepted (they can carry script): send a PNG, JPEG or WebP image']);
    const big = await cli.run(['client', 'update', clientId, '--logo-file', join(files, 'big.png')]);
    expect(errorLines(big)).toEqual(['postern: a logo is at most 256 KiB']);
    const missing = await cli.run(['client', 'update', clientId, '--logo-file', join(files, 'none.png')]);
    expect(missing.code).toBe(2);
    expect((await cli.run(['client', 'show', clientId, '--json'])).stdout).toBe(before.stdout);
  });
});
