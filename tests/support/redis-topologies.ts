import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, now, run, sleep, waitForExit } from '../faults/support/processes.ts';
import { reapIfAbandoned } from '../faults/support/reaper.ts';
import { redisUnavailable } from '../faults/support/own-redis.ts';

/**
 * Redis topologies of a suite's own, from Debian's redis-server on random loopback ports, no
 * persistence: a Redis Cluster of three masters, and one master watched by one Sentinel. Never
 * the shared server on 6379. `close()` stops every process and removes the directory.
 */

export { redisUnavailable };

export interface OwnTopology {
  /** the REDIS_URL that reaches it */
  url: string;
  /** the data nodes' ports */
  ports: number[];
  /** stops the node on `port` (SIGKILL) */
  kill(port: number): Promise<void>;
  close(): Promise<void>;
}

interface Started {
  port: number;
  child: ChildProcess;
  release(): void;
}

function killer(started: Started[]): (port: number) => Promise<void> {
  return async (port) => {
    const node = started.find((entry) => entry.port === port);
    if (!node) throw new Error(`no node on port ${port}`);
    node.child.kill('SIGKILL');
    await waitForExit(node.child, 5_000);
  };
}

async function launch(args: string[], port: number, dir: string): Promise<Started> {
  const child = spawn('redis-server', args, { stdio: 'ignore', cwd: dir });
  const release = reapIfAbandoned({ pid: child.pid! });
  const deadline = now() + 10_000;
  while (now() < deadline) {
    if (child.exitCode !== null) break;
    if ((await ask(port, 'PING').catch(() => undefined)) === 'PONG') return { port, child, release };
    await sleep(25);
  }
  child.kill('SIGKILL');
  release();
  throw new Error(`redis-server ${args.join(' ')} did not answer on port ${port}`);
}

/** One command on a short-lived connection. */
export async function ask(port: number, ...command: string[]): Promise<unknown> {
  const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000, enableOfflineQueue: false, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return await redis.call(command[0]!, ...command.slice(1));
  } finally {
    redis.disconnect();
  }
}

async function stopAll(started: Started[], dir: string, unregister: () => void): Promise<void> {
  await Promise.all(
    started.map(async ({ child, release }) => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        if (!(await waitForExit(child, 5_000))) {
          child.kill('SIGKILL');
          await waitForExit(child, 5_000);
        }
      }
      release();
    }),
  );
  await rm(dir, { recursive: true, force: true });
  unregister();
}

const BASE_ARGS = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'];

/** Three masters, no replicas, slots spread by `redis-cli --cluster create`. */
export async function startRedisCluster(masters = 3): Promise<OwnTopology> {
  const dir = await mkdtemp(join(tmpdir(), 'postern-redis-cluster-'));
  const unregister = reapIfAbandoned({ dir });
  const started: Started[] = [];
  const close = () => stopAll(started, dir, unregister);
  try {
    const ports: number[] = [];
    for (let i = 0; i < masters; i += 1) {
      const [port, busPort] = [await freePort(), await freePort()];
      ports.push(port);
      started.push(
        await launch(
          [
            '--port', String(port), '--cluster-port', String(busPort), ...BASE_ARGS,
            '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '5000',
            '--dir', dir, '--logfile', join(dir, `redis-${port}.log`),
          ],
          port,
          dir,
        ),
      );
    }
    const created = await run('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'], { timeoutMs: 30_000 });
    if (created.code !== 0) throw new Error(`redis-cli --cluster create failed:\n${created.output}`);
    const deadline = now() + 15_000;
    for (;;) {
      const states = await Promise.all(ports.map(async (port) => String(await ask(port, 'CLUSTER', 'INFO'))));
      if (states.every((info) => info.includes('cluster_state:ok'))) break;
      if (now() > deadline) throw new Error(`the cluster did not become ready:\n${states.join('\n')}`);
      await sleep(100);
    }
    return { url: `redis+cluster://${ports.map((port) => `127.0.0.1:${port}`).join(',')}/`, ports, kill: killer(started), close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** One master and one Sentinel watching it as `mymaster`. */
export async function startRedisSentinel(): Promise<OwnTopology & { masterName: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'postern-redis-sentinel-'));
  const unregister = reapIfAbandoned({ dir });
  const started: Started[] = [];
  const close = () => stopAll(started, dir, unregister);
  try {
    const [masterPort, sentinelPort] = [await freePort(), await freePort()];
    started.push(await launch(['--port', String(masterPort), ...BASE_ARGS, '--dir', dir, '--logfile', join(dir, 'master.log')], masterPort, dir));
    // a Sentinel rewrites its configuration file: it needs one of its own, writable
    const config = join(dir, 'sentinel.conf');
    await writeFile(config, [`port ${sentinelPort}`, 'bind 127.0.0.1', `dir ${dir}`, `logfile ${join(dir, 'sentinel.log')}`, `sentinel monitor mymaster 127.0.0.1 ${masterPort} 1`, ''].join('\n'));
    started.push(await launch([config, '--sentinel'], sentinelPort, dir));
    const deadline = now() + 10_000;
    while (!(await ask(sentinelPort, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'mymaster'))) {
      if (now() > deadline) throw new Error('the Sentinel did not learn its master');
      await sleep(50);
    }
    return { url: `redis+sentinel://127.0.0.1:${sentinelPort}/?name=mymaster`, ports: [masterPort], masterName: 'mymaster', kill: killer(started), close };
  } catch (error) {
    await close();
    throw error;
  }
}
