import { existsSync, readFileSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knex from 'knex';
import { freePort, isAlive, run, systemUser, waitForPidGone } from './processes.ts';
import { reapIfAbandoned } from './reaper.ts';

/**
 * A PostgreSQL server of the suite's own: initdb into a temporary directory, loopback only, a
 * random port, fsync off. Never the shared server on 5432. Runs as the `postgres` system user
 * when the tests run as root (initdb and postgres refuse root).
 */

const BIN = process.env.POSTERN_FAULTS_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** Why the suite cannot start its own PostgreSQL, or undefined when it can. */
export function postgresUnavailable(): string | undefined {
  for (const tool of ['initdb', 'pg_ctl', 'postgres']) {
    if (!existsSync(join(BIN, tool))) return `PostgreSQL binaries not found: ${join(BIN, tool)} is missing (Debian: apt-get install postgresql-15)`;
  }
  if (process.getuid?.() === 0 && !systemUser('postgres')) return 'running as root and there is no `postgres` system user to run initdb and postgres as';
  return undefined;
}

export interface OwnPostgres {
  port: number;
  /** superuser URL of the `postgres` database */
  url: string;
  dir: string;
  logFile: string;
  /** the postmaster's pid, from postmaster.pid; undefined while stopped */
  pid(): number | undefined;
  /** creates an empty database and answers its URL */
  createDatabase(name: string): Promise<string>;
  /** `pg_ctl restart -m fast`: disconnects every client, shuts down cleanly, starts again */
  restart(): Promise<void>;
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  /** stops the server (immediate) and removes its directory */
  close(): Promise<void>;
}

export async function startOwnPostgres(): Promise<OwnPostgres> {
  const user = process.getuid?.() === 0 ? systemUser('postgres') : undefined;
  const dir = await mkdtemp(join(tmpdir(), 'postern-faults-pg-'));
  if (user) await chown(dir, user.uid, user.gid);
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');

  const as = (tool: string, args: string[]) =>
    user
      ? run('setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--', join(BIN, tool), ...args])
      : run(join(BIN, tool), args);
  const must = async (tool: string, args: string[]) => {
    const result = await as(tool, args);
    if (result.code !== 0) throw new Error(`${tool} ${args.join(' ')} failed (${result.code}):\n${result.output}\n${readLog(logFile)}`);
  };
  const pid = () => {
    try {
      const value = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      return Number.isInteger(value) && value > 0 ? value : undefined;
    } catch {
      return undefined;
    }
  };

  const releaseServer = reapIfAbandoned({ postgresData: dataDir });
  const releaseDir = reapIfAbandoned({ dir });
  const unregister = () => {
    releaseServer();
    releaseDir();
  };

  let port = 0;
  let options = '';
  try {
    await must('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
    // a free port can be taken between probing and binding: try a few
    for (let attempt = 1; ; attempt += 1) {
      port = await freePort();
      options = [
        '-c listen_addresses=127.0.0.1',
        `-p ${port}`,
        `-c unix_socket_directories=${dir}`,
        '-c fsync=off',
        '-c synchronous_commit=off',
        '-c full_page_writes=off',
        '-c max_connections=200',
      ].join(' ');
      const result = await as('pg_ctl', ['-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', options, 'start']);
      if (result.code === 0) break;
      if (attempt === 3) throw new Error(`pg_ctl start failed:\n${result.output}\n${readLog(logFile)}`);
    }
  } catch (error) {
    await stopNow(pid);
    await rm(dir, { recursive: true, force: true });
    unregister();
    throw error;
  }

  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    port,
    url,
    dir,
    logFile,
    pid,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new TypeError(`not a plain database name: ${name}`);
      const admin = knex({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
      try {
        await admin.raw(`create database ${name}`);
      } finally {
        await admin.destroy();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async restart() {
      await must('pg_ctl', ['-D', dataDir, '-l', logFile, '-m', 'fast', '-w', '-t', '60', 'restart']);
    },
    async stop(mode = 'fast') {
      await must('pg_ctl', ['-D', dataDir, '-m', mode, '-w', '-t', '60', 'stop']);
    },
    async start() {
      await must('pg_ctl', ['-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', options, 'start']);
    },
    async close() {
      await stopNow(pid, () => as('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', '-t', '20', 'stop']));
      await rm(dir, { recursive: true, force: true });
      unregister();
    },
  };
}

async function stopNow(pid: () => number | undefined, pgCtlStop?: () => Promise<unknown>) {
  const running = pid();
  if (running === undefined || !isAlive(running)) return;
  if (pgCtlStop) await pgCtlStop().catch(() => undefined);
  if (!isAlive(running)) return;
  process.kill(running, 'SIGQUIT');
  if (await waitForPidGone(running, 10_000)) return;
  process.kill(running, 'SIGKILL');
  await waitForPidGone(running, 5_000);
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '';
  }
}
