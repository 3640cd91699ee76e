import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { freePort, now, sleep, waitForExit } from './processes.ts';
import { reapIfAbandoned } from './reaper.ts';
import { startRoundRobinProxy, type RoundRobinProxy } from './proxy.ts';

/**
 * N Postern processes (`node src/main.ts`, NODE_ENV=production) sharing one PostgreSQL and one
 * Redis, behind the round-robin proxy whose address is their common issuer. Each instance logs
 * to its own file. Provision (which migrates) before starting them: instances starting together
 * on an empty database would race for the migration lock.
 */

const ROOT = resolve(import.meta.dirname, '../../..');
const MAIN = resolve(ROOT, 'src/main.ts');

export interface InstanceExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

export interface PosternInstance {
  index: number;
  port: number;
  url: string;
  pid: number;
  logFile: string;
  /** set once the process has exited */
  exit: InstanceExit | undefined;
  exited: Promise<InstanceExit>;
  signal(signal: NodeJS.Signals): void;
  /** the instance's log so far */
  log(): string;
}

export interface ClusterOptions {
  instances: number;
  databaseUrl: string;
  redisUrl: string;
  /** base64 of 32 bytes: the one the storage was provisioned with */
  masterKey: string;
  logDir: string;
  /** extra environment for every instance */
  env?: Record<string, string>;
}

export interface PosternCluster {
  issuer: string;
  proxy: RoundRobinProxy;
  instances: PosternInstance[];
  /** the environment every instance runs with, minus PORT: for provisioning against the same storage */
  env: Record<string, string>;
  /** SIGTERM every live instance (SIGKILL after 15 s), then the proxy */
  close(): Promise<void>;
}

export async function startCluster(options: ClusterOptions): Promise<PosternCluster> {
  const proxy = await startRoundRobinProxy();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    POSTERN_ISSUER: proxy.url,
    // loopback only: the proxy speaks plain HTTP
    POSTERN_ALLOW_HTTP_ISSUER: 'true',
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
    POSTERN_MASTER_KEY: options.masterKey,
    POSTERN_COOKIE_KEYS: randomBytes(32).toString('base64url'),
    LOG_LEVEL: 'info',
    // sign-ins are setup, not what is measured
    POSTERN_ARGON2_MEMORY_KIB: '1024',
    POSTERN_ARGON2_ITERATIONS: '1',
    // every request comes from 127.0.0.1: limits high enough never to bite, still counted in Redis
    POSTERN_RATE_LIMIT_TOKEN: '1000000/1m',
    POSTERN_RATE_LIMIT_INTROSPECTION: '1000000/1m',
    POSTERN_RATE_LIMIT_LOGIN: '1000000/1m',
    ...options.env,
  };

  const children: ChildProcess[] = [];
  // a port probed free can be taken before the instance binds it: start again on another
  const launch = async (index: number): Promise<PosternInstance> => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await launchOnce(index, await freePort());
      } catch (error) {
        if (attempt === 3 || !(error instanceof Error && error.message.includes('EADDRINUSE'))) throw error;
      }
    }
  };

  const launchOnce = async (index: number, port: number): Promise<PosternInstance> => {
    const logFile = resolve(options.logDir, `postern-${index}.log`);
    const log = openSync(logFile, 'a');
    writeSync(log, `${JSON.stringify({ faults: 'start', instance: index, port, at: new Date().toISOString() })}\n`);
    const child = spawn(process.execPath, [MAIN], { cwd: options.logDir, env: { ...env, PORT: String(port) }, stdio: ['ignore', log, log] });
    closeSync(log);
    children.push(child);
    const release = reapIfAbandoned({ pid: child.pid! });
    const instance: PosternInstance = {
      index,
      port,
      url: `http://127.0.0.1:${port}`,
      pid: child.pid!,
      logFile,
      exit: undefined,
      exited: new Promise((settle) =>
        child.once('exit', (code, signal) => {
          release();
          instance.exit = { code, signal, at: now() };
          settle(instance.exit);
        }),
      ),
      signal: (signal) => void child.kill(signal),
      log: () => readFileSync(logFile, 'utf8'),
    };

    const deadline = now() + 90_000;
    for (;;) {
      if (instance.exit) throw new Error(`instance ${index} exited during startup (code ${instance.exit.code}):\n${instance.log().slice(-2000)}`);
      if (now() > deadline) throw new Error(`instance ${index} did not answer within 90 s:\n${instance.log().slice(-2000)}`);
      try {
        const response = await fetch(new URL('/.well-known/openid-configuration', instance.url));
        await response.arrayBuffer();
        if (response.status === 200) return instance;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
  };

  const close = async () => {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGCONT');
        child.kill('SIGTERM');
        if (!(await waitForExit(child, 15_000))) {
          child.kill('SIGKILL');
          await waitForExit(child, 5_000);
        }
      }),
    );
    await proxy.close();
  };

  try {
    const instances = await Promise.all(Array.from({ length: options.instances }, (_, index) => launch(index)));
    proxy.setBackends(instances.map((instance) => instance.url));
    return { issuer: proxy.url, proxy, instances, env, close };
  } catch (error) {
    await close();
    throw error;
  }
}
