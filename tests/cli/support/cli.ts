import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createPostgresDatabase, type BackendName } from '../../support/backends.ts';

export const ROOT = resolve(import.meta.dirname, '../../..');
const BIN = join(ROOT, 'bin/postern.js');
// generous: on a loaded 2-core machine one PGlite start has taken 30 s
const SPAWN_TIMEOUT_MS = 180_000;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Sandbox {
  env: Record<string, string>;
  /** Runs `postern …` with `input` on stdin (stdin is closed either way, so it is never a TTY). */
  run(args: string[], input?: string): Promise<CliResult>;
  /** Runs `node script` in the same environment: for checks that need storage after the CLI has exited. */
  runScript(script: string, args: string[], input?: string): Promise<CliResult>;
  cleanup(): Promise<void>;
}

function spawnNode(argv: string[], env: Record<string, string>, input: string | undefined): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    // process.execPath is the Node 24 that runs vitest (npm puts node_modules/.bin first on PATH)
    const child = spawn(process.execPath, argv, { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'], timeout: SPAWN_TIMEOUT_MS });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/** Runs `postern …` in `env` (plus PATH), as an operator would beside running servers. */
export function runCli(args: string[], env: Record<string, string>, input?: string): Promise<CliResult> {
  return spawnNode([BIN, ...args], { PATH: process.env.PATH ?? '', ...env }, input);
}

/**
 * A fresh database for one suite: a temporary PGlite data directory (embedded) or a new
 * PostgreSQL database (when the suite runs on postgres+redis), plus a temporary keys directory.
 */
export async function createSandbox(backend: BackendName): Promise<Sandbox> {
  const keysDir = await mkdtemp(join(tmpdir(), 'postern-cli-keys-'));
  const dataDir = await mkdtemp(join(tmpdir(), 'postern-cli-data-'));
  const postgres = backend === 'embedded' ? undefined : await createPostgresDatabase();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'test',
    POSTERN_KEYS_DIR: keysDir,
    POSTERN_DATA_DIR: dataDir,
    ...(postgres ? { DATABASE_URL: postgres.url } : {}),
    POSTERN_ARGON2_MEMORY_KIB: '1024',
    POSTERN_ARGON2_ITERATIONS: '1',
    // an issuer where no server listens, so the CLI's running-server guard never sees another suite's server
    PORT: '1',
  };
  return {
    env,
    run: (args, input) => spawnNode([BIN, ...args], env, input),
    runScript: (script, args, input) => spawnNode([script, ...args], env, input),
    async cleanup() {
      await postgres?.drop();
      await rm(keysDir, { recursive: true, force: true });
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The parsed stdout of a command that must succeed. */
export function parseJson<T>(result: CliResult): T {
  if (result.code !== 0) throw new Error(`expected exit 0, got ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

export function errorLines(result: CliResult): string[] {
  return result.stderr.trimEnd().split('\n');
}
