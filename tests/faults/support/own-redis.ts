import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, now, sleep, waitForExit } from './processes.ts';
import { reapIfAbandoned } from './reaper.ts';

/**
 * A redis-server of the suite's own on a random loopback port, no persistence. Never the shared
 * server on 6379. It can be paused (SIGSTOP), killed and started again on the same port.
 */

const REDIS_SERVER = process.env.POSTERN_FAULTS_REDIS_SERVER ?? 'redis-server';

/** Why the suite cannot start its own Redis, or undefined when it can. */
export function redisUnavailable(): string | undefined {
  const probe = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return `${REDIS_SERVER} not found (Debian: apt-get install redis-server)`;
  return undefined;
}

export interface OwnRedis {
  port: number;
  url: string;
  pid(): number | undefined;
  /** SIGSTOP: connections stay open, nothing is answered */
  pause(): void;
  /** SIGCONT */
  resume(): void;
  /** SIGKILL, and wait until it is gone; the data is lost (no persistence) */
  kill(): Promise<void>;
  /** starts again on the same port */
  start(): Promise<void>;
  /** one command on a short-lived admin connection */
  command(name: string, ...args: (string | number)[]): Promise<unknown>;
  close(): Promise<void>;
}

export async function startOwnRedis(): Promise<OwnRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'postern-faults-redis-'));
  let child: ChildProcess | undefined;
  let port = 0;

  const launch = async () => {
    const server = spawn(
      REDIS_SERVER,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', join(dir, 'redis.log'), '--daemonize', 'no'],
      { stdio: 'ignore' },
    );
    child = server;
    const release = reapIfAbandoned({ pid: server.pid! });
    server.once('exit', release);
    const deadline = now() + 10_000;
    while (now() < deadline) {
      if (server.exitCode !== null) throw new Error(`redis-server exited at start (code ${server.exitCode}) on port ${port}`);
      if (await pings(port)) return;
      await sleep(25);
    }
    server.kill('SIGKILL');
    throw new Error(`redis-server did not answer on port ${port} within 10 s`);
  };

  const unregister = reapIfAbandoned({ dir });

  for (let attempt = 1; ; attempt += 1) {
    port = await freePort();
    try {
      await launch();
      break;
    } catch (error) {
      if (attempt === 3) {
        await rm(dir, { recursive: true, force: true });
        unregister();
        throw error;
      }
    }
  }

  const stopChild = async (signal: NodeJS.Signals) => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    running.kill('SIGCONT'); // a stopped process does not act on SIGTERM until continued
    running.kill(signal);
    if (!(await waitForExit(running, 5_000))) {
      running.kill('SIGKILL');
      await waitForExit(running, 5_000);
    }
  };

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    pid: () => (child && child.exitCode === null && child.signalCode === null ? child.pid : undefined),
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    kill: () => stopChild('SIGKILL'),
    start: () => launch(),
    async command(name, ...args) {
      const admin = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2_000, enableOfflineQueue: false });
      admin.on('error', () => {});
      try {
        await admin.connect();
        return await admin.call(name, ...args);
      } finally {
        admin.disconnect();
      }
    },
    async close() {
      await stopChild('SIGTERM');
      await rm(dir, { recursive: true, force: true });
      unregister();
    },
  };
}

async function pings(port: number): Promise<boolean> {
  const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 500, enableOfflineQueue: false, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}
