import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provision } from '../faults/support/provision.ts';
import { freePort, isAlive, run, sleep, waitForExit, waitForPidGone } from '../faults/support/processes.ts';
import { reapIfAbandoned } from '../faults/support/reaper.ts';
import { redisUnavailable, startOwnRedis, type OwnRedis } from '../faults/support/own-redis.ts';
import { availableBackends, createPostgresDatabase } from '../support/backends.ts';
import type { Fixture } from '../support/relying-party.ts';

/**
 * `node src/main.ts --workers N`: a primary forking N workers that share one port (node:cluster),
 * on a PostgreSQL database and a Redis of the suite's own. Never the shared Redis.
 */
const MAIN = resolve(import.meta.dirname, '../../src/main.ts');
const enabled = availableBackends().includes('postgres+redis') && !redisUnavailable();

/** The pids of a process's children, from /proc. */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('--workers on the embedded tier', () => {
  it('is refused with a message naming what is missing', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'postern-workers-'));
    try {
      const result = await run(process.execPath, [MAIN, '--workers', '2'], { env: { PATH: process.env.PATH, POSTERN_DATA_DIR: dataDir, NODE_ENV: 'test' }, timeoutMs: 30_000 });
      expect(result.code).toBe(1);
      expect(result.output).toContain('POSTERN_WORKERS=2 needs DATABASE_URL and REDIS_URL');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe.runIf(enabled)(`--workers 2 on PostgreSQL + Redis${enabled ? '' : ' (skipped: needs TEST_DATABASE_URL and redis-server)'}`, () => {
  let redis: OwnRedis;
  let database: { url: string; drop(): Promise<void> };
  let primary: ChildProcess;
  let release = () => {};
  let output = '';
  let fixture: Fixture;
  let issuer: string;

  beforeAll(async () => {
    [redis, database] = await Promise.all([startOwnRedis(), createPostgresDatabase()]);
    const masterKey = randomBytes(32).toString('base64');
    fixture = await provision({ databaseUrl: database.url, redisUrl: redis.url, masterKey });
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    primary = spawn(process.execPath, [MAIN, '--workers', '2'], {
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        PORT: String(port),
        POSTERN_ISSUER: issuer,
        DATABASE_URL: database.url,
        REDIS_URL: redis.url,
        POSTERN_MASTER_KEY: masterKey,
        POSTERN_SHUTDOWN_DELAY: '0',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    release = reapIfAbandoned({ pid: primary.pid! });
    primary.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    primary.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    await until(() => (output.includes('all workers listening') ? true : primary.exitCode !== null ? Promise.reject(new Error(output)) : undefined), 'two workers');
  });
  afterAll(async () => {
    if (primary && primary.exitCode === null) {
      const workers = childrenOf(primary.pid!);
      primary.kill('SIGKILL');
      for (const pid of workers) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    release();
    await redis?.close();
    await database?.drop();
  });

  const configuration = () =>
    oidc.discovery(new URL(issuer), fixture.clientId, fixture.clientSecret, oidc.ClientSecretBasic(fixture.clientSecret), { execute: [oidc.allowInsecureRequests] });

  it('the primary forks two workers that serve one port and one storage', async () => {
    expect(childrenOf(primary.pid!)).toHaveLength(2);
    const config = await configuration();
    const tokens = await Promise.all(Array.from({ length: 8 }, () => oidc.clientCredentialsGrant(config, { scope: 'read' })));
    for (const { access_token } of tokens) expect((await oidc.tokenIntrospection(config, access_token)).active).toBe(true);
    const workerLines = output.split('\n').filter((line) => line.includes('"msg":"postern listening"'));
    expect(new Set(workerLines.map((line) => (JSON.parse(line) as { worker: number }).worker)).size).toBe(2);
  });

  it('replaces a worker that crashed, and goes on serving', async () => {
    const [victim, survivor] = childrenOf(primary.pid!);
    process.kill(victim!, 'SIGKILL');
    expect(await waitForPidGone(victim!, 10_000)).toBe(true);
    const replaced = await until(() => {
      const now = childrenOf(primary.pid!);
      return now.length === 2 && !now.includes(victim!) ? now : undefined;
    }, 'a replacement worker');
    expect(replaced).toContain(survivor);
    await until(() => (output.split('"msg":"postern listening"').length - 1 === 3 ? true : undefined), 'the replacement to listen');
    const config = await configuration();
    expect((await oidc.clientCredentialsGrant(config, { scope: 'read' })).access_token).toBeTypeOf('string');
  });

  it('SIGTERM to the primary drains every worker, then the primary exits 0', async () => {
    const workers = childrenOf(primary.pid!);
    primary.kill('SIGTERM');
    expect(await waitForExit(primary, 30_000)).toBe(true);
    expect(primary.exitCode).toBe(0);
    for (const pid of workers) expect(isAlive(pid)).toBe(false);
    expect(output.split('"msg":"stopped"').length - 1).toBe(2);
  });
});
