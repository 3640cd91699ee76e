import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lockfile, PackageJson } from '../../scripts/lockfile-checks.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const SCRIPT = join(ROOT, 'scripts', 'audit-lockfile.ts');
const INTEGRITY = `sha512-${Buffer.alloc(64, 7).toString('base64')}`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node scripts/audit-lockfile.ts DIR --offline`, as `npm run audit:lockfile` runs it. */
function audit(dir: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [SCRIPT, dir, '--offline'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** A small project that passes: one registry dependency, and argon2 with its install script allowed. */
function project(): { manifest: PackageJson; lockfile: Lockfile } {
  return {
    manifest: { dependencies: { 'left-pad': '^1.3.0', argon2: '^0.45.1' }, allowScripts: { argon2: true } },
    lockfile: {
      lockfileVersion: 3,
      packages: {
        '': {},
        'node_modules/left-pad': { version: '1.3.0', integrity: INTEGRITY },
        'node_modules/argon2': { version: '0.45.1', resolved: 'https://registry.npmjs.org/argon2/-/argon2-0.45.1.tgz', integrity: INTEGRITY, hasInstallScript: true },
      },
    },
  };
}

describe('npm run audit:lockfile', () => {
  let root = '';
  let cases = 0;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'postern-lockfile-'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  async function auditProject(change: (p: { manifest: PackageJson; lockfile: Lockfile }) => void, env: Record<string, string> = {}): Promise<Run> {
    const files = project();
    change(files);
    cases += 1;
    const dir = await mkdtemp(join(root, `case-${cases}-`));
    await writeFile(join(dir, 'package.json'), JSON.stringify(files.manifest));
    await writeFile(join(dir, 'package-lock.json'), JSON.stringify(files.lockfile));
    return audit(dir, env);
  }

  it("passes this project's own lockfile and names the two packages allowed to run install scripts", async () => {
    const run = await audit(ROOT);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^audit-lockfile: \d+ packages, each an exact registry version with a sha512 integrity; install scripts only for argon2@[\d.]+, node@[\d.]+\n$/);
    const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
    expect(manifest.allowScripts).toEqual({ argon2: true, node: true });
  });

  it('passes the small project it alters below', async () => {
    expect(await auditProject(() => {})).toMatchObject({ code: 0, stderr: '' });
  });

  it.each<[string, (p: { manifest: PackageJson; lockfile: Lockfile }) => void, RegExp]>([
    ['a git dependency', ({ manifest, lockfile }) => {
      manifest.dependencies!['left-pad'] = 'git+https://github.com/someone/left-pad.git';
      lockfile.packages!['node_modules/left-pad'] = { version: '1.3.0', resolved: 'git+ssh://git@github.com/someone/left-pad.git#0123abc', integrity: INTEGRITY };
    }, /dependencies\.left-pad is "git\+https:.*only registry versions[\s\S]*resolved from git\+ssh:/],
    ['a GitHub shorthand', ({ manifest }) => {
      manifest.dependencies!['left-pad'] = 'someone/left-pad';
    }, /dependencies\.left-pad is "someone\/left-pad"/],
    ['a tarball from another host', ({ lockfile }) => {
      lockfile.packages!['node_modules/left-pad']!.resolved = 'http://packages.example.test/left-pad-1.3.0.tgz';
    }, /node_modules\/left-pad: resolved from http:\/\/packages\.example\.test/],
    ['a local folder', ({ manifest, lockfile }) => {
      manifest.dependencies!['left-pad'] = 'file:../left-pad';
      lockfile.packages!['node_modules/left-pad'] = { resolved: '../left-pad', link: true };
      lockfile.packages!['../left-pad'] = { version: '1.3.0' };
    }, /file:\.\.\/left-pad[\s\S]*a link to a local folder[\s\S]*\.\.\/left-pad: a local folder/],
    ['a missing integrity', ({ lockfile }) => {
      delete lockfile.packages!['node_modules/left-pad']!.integrity;
    }, /node_modules\/left-pad: no integrity hash/],
    ['a sha1 integrity', ({ lockfile }) => {
      lockfile.packages!['node_modules/left-pad']!.integrity = 'sha1-nQ8VO6+w/fnNOhEHeFBlSa9P88E=';
    }, /node_modules\/left-pad: integrity is not sha512 \(sha1\)/],
    ['a version that is not exact', ({ lockfile }) => {
      lockfile.packages!['node_modules/left-pad']!.version = 'github:someone/left-pad';
    }, /version "github:someone\/left-pad" is not an exact registry version/],
    ['an install script nobody allowed', ({ lockfile }) => {
      lockfile.packages!['node_modules/left-pad']!.hasInstallScript = true;
    }, /left-pad@1\.3\.0 has an install script and no allowScripts entry/],
    ['an allowance pinned to another version', ({ manifest }) => {
      manifest.allowScripts = { 'argon2@0.44.0': true };
    }, /argon2@0\.45\.1 has an install script and no allowScripts entry[\s\S]*allowScripts\.argon2@0\.44\.0 allows a package that is not installed/],
    ['an allowance for a package without install scripts', ({ manifest }) => {
      manifest.allowScripts = { argon2: true, 'left-pad': true };
    }, /allowScripts\.left-pad allows a package that is not installed with an install script/],
    ['a lockfile npm 6 wrote', ({ lockfile }) => {
      lockfile.lockfileVersion = 1;
      delete lockfile.packages;
    }, /package-lock\.json has no "packages" map/],
  ])('refuses %s, one line each, exit code 1', async (_name, change, message) => {
    const run = await auditProject(change);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
    expect(run.stderr.split('\n').filter(Boolean).every((line) => line.startsWith('audit-lockfile: '))).toBe(true);
  });

  it('refuses an npm configured for another registry (packages without a resolved URL come from there)', async () => {
    const run = await auditProject(() => {}, { npm_config_registry: 'https://npm.mirror.example.test/' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('npm is configured for the registry https://npm.mirror.example.test/, not https://registry.npmjs.org/');
    expect((await auditProject(() => {}, { npm_config_registry: 'https://registry.npmjs.org' })).code).toBe(0);
  });
});
