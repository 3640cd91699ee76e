import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MAIN = resolve(import.meta.dirname, '../../src/main.ts');

interface Exit {
  code: number | null;
  stderr: string;
  stdout: string;
}

let cwd = '';
beforeAll(async () => {
  // an empty working directory, so a failed start cannot leave data/ or keys/ in the repository
  cwd = await mkdtemp(join(tmpdir(), 'postern-startup-'));
});
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

/** Runs `node src/main.ts` (Node 24 under vitest) with only the given environment. */
function start(env: Record<string, string>): Promise<Exit> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [MAIN], { cwd, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stderr, stdout });
    });
  });
}

function expectOneLine(exit: Exit): string {
  expect(exit.code).not.toBe(0);
  expect(exit.code).not.toBeNull();
  const lines = exit.stderr.split('\n').filter((line) => line !== '');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^postern: /);
  return lines[0]!;
}

const STACK_FRAME = /^\s+at /m;

let unreachableDatabase: Promise<Exit> | undefined;
const startWithUnreachableDatabase = () =>
  (unreachableDatabase ??= start({
    NODE_ENV: 'production',
    POSTERN_ISSUER: 'https://id.example.test',
    DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none',
    POSTERN_MASTER_KEY: randomBytes(32).toString('base64'),
    POSTERN_COOKIE_KEYS: randomBytes(32).toString('base64url'),
  }));

describe('startup failures are one line on stderr, not a stack trace', () => {
  it('production without a master key', async () => {
    const exit = await start({ NODE_ENV: 'production' });
    expect(expectOneLine(exit)).toContain('POSTERN_MASTER_KEY');
    expect(exit.stdout).toBe('');
    expect(await readdir(cwd)).toEqual([]);
  });

  it('production without an issuer, or with an http one', async () => {
    const keys = { NODE_ENV: 'production', POSTERN_MASTER_KEY: randomBytes(32).toString('base64'), POSTERN_COOKIE_KEYS: randomBytes(32).toString('base64url') };
    expect(expectOneLine(await start(keys))).toContain('production needs POSTERN_ISSUER');
    expect(expectOneLine(await start({ ...keys, POSTERN_ISSUER: 'http://id.example.test' }))).toContain('POSTERN_ALLOW_HTTP_ISSUER=true');
    expect(await readdir(cwd)).toEqual([]);
  });

  it('an unreachable DATABASE_URL: one line naming the database', async () => {
    const line = expectOneLine(await startWithUnreachableDatabase());
    expect(line).toMatch(/database/);
    expect(line).toContain('127.0.0.1:1');
  });

  it('an unreachable DATABASE_URL: no stack trace on stdout either (the JSON log stream)', async () => {
    const { stdout } = await startWithUnreachableDatabase();
    expect(stdout).not.toMatch(STACK_FRAME);
  });
});
