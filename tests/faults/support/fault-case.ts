import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, it } from 'vitest';
import type { Fixture } from '../../support/relying-party.ts';
import { LoadDriver, type DriverOptions } from './load-driver.ts';
import { format, measure, type CaseReport, type FaultWindow } from './measure.ts';
import { postgresUnavailable, startOwnPostgres, type OwnPostgres } from './own-postgres.ts';
import { redisUnavailable, startOwnRedis, type OwnRedis } from './own-redis.ts';
import { startCluster, type PosternCluster, type PosternInstance } from './postern-cluster.ts';
import type { InFlight } from './proxy.ts';
import { now, sleep } from './processes.ts';
import { provision, signInChains } from './provision.ts';
import { reapIfAbandoned } from './reaper.ts';

/**
 * What every fault case shares: its own PostgreSQL per file, and per case its own Redis, a fresh
 * database, a cluster of Postern instances behind the proxy, K signed-in refresh-token chains and
 * a load driver. Everything is ended (and its directories removed) after each case and file,
 * failed or not.
 */

/** Why the suite cannot run here (it is then skipped with this reason), or undefined. */
export function faultsUnavailable(): string | undefined {
  const reasons = [postgresUnavailable(), redisUnavailable()].filter(Boolean);
  return reasons.length > 0 ? reasons.join('; ') : undefined;
}

/**
 * `POSTERN_FAULTS=all` (npm run test:faults) runs every case; otherwise only the bounded subset
 * marked `subset`, which is what `npm test` runs.
 */
const RUN_ALL = process.env.POSTERN_FAULTS === 'all';

export function faultCase(name: string, options: { subset: boolean; timeoutMs?: number }, body: () => Promise<void>) {
  it.runIf(RUN_ALL || options.subset)(name, body, options.timeoutMs ?? 240_000);
}

export function announceSkip(suite: string): string | undefined {
  const reason = faultsUnavailable();
  if (reason) process.stderr.write(`[faults] ${suite}: skipped — ${reason}\n`);
  else if (!RUN_ALL) process.stderr.write(`[faults] ${suite}: the bounded subset only; POSTERN_FAULTS=all (npm run test:faults) runs every case\n`);
  return reason;
}

export interface Stage {
  postgres: OwnPostgres;
}

/** This file's own PostgreSQL server. */
export function useOwnPostgres(): Stage {
  const stage = {} as Stage;
  beforeAll(async () => {
    stage.postgres = await startOwnPostgres();
  });
  afterAll(async () => {
    await stage.postgres?.close();
  });
  return stage;
}

export interface FaultCase {
  postgres: OwnPostgres;
  redis: OwnRedis;
  cluster: PosternCluster;
  fixture: Fixture;
  driver: LoadDriver;
  logDir: string;
  /** how long starting the case took (storage, provisioning, instances, sign-ins), ms */
  setupMs: number;
}

export interface CaseOptions {
  instances?: number;
  chains?: number;
  driver?: Partial<DriverOptions>;
}

/** A fresh case (Redis, database, cluster, chains, driver) before each test, ended after it. */
export function useFaultCase(stage: Stage, options: CaseOptions = {}): { current: FaultCase } {
  const holder = {} as { current: FaultCase };
  let cleanups: (() => Promise<unknown>)[] = [];
  // reverse order: the driver first, the storage last; every step runs even if one fails
  const teardown = async () => {
    const errors: unknown[] = [];
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => errors.push(error));
    cleanups = [];
    if (errors.length > 0) throw new AggregateError(errors, 'fault case teardown failed');
  };
  beforeEach(async () => {
    try {
      await setUp();
    } catch (error) {
      await teardown().catch(() => undefined);
      throw error;
    }
  });
  afterEach(teardown);
  const setUp = async () => {
    const started = now();
    cleanups = [];
    const logDir = await mkdtemp(join(tmpdir(), 'postern-faults-logs-'));
    const releaseLogs = reapIfAbandoned({ dir: logDir });
    cleanups.push(async () => {
      if (process.env.POSTERN_FAULTS_KEEP_LOGS) process.stderr.write(`[faults] logs kept in ${logDir}\n`);
      else await rm(logDir, { recursive: true, force: true });
      releaseLogs();
    });
    const redis = await startOwnRedis();
    cleanups.push(() => redis.close());
    const databaseUrl = await stage.postgres.createDatabase(`faults_${randomBytes(6).toString('hex')}`);
    const masterKey = randomBytes(32).toString('base64');
    const fixture = await provision({ databaseUrl, redisUrl: redis.url, masterKey });
    const cluster = await startCluster({ instances: options.instances ?? 3, databaseUrl, redisUrl: redis.url, masterKey, logDir });
    cleanups.push(() => cluster.close());
    const chains = await signInChains(cluster.issuer, fixture, options.chains ?? 20);
    const driver = new LoadDriver({ issuer: cluster.issuer, clientId: fixture.clientId, clientSecret: fixture.clientSecret, chains, ...options.driver });
    cleanups.push(() => driver.stop());
    holder.current = { postgres: stage.postgres, redis, cluster, fixture, driver, logDir, setupMs: Math.round(now() - started) };
  };
  return holder;
}

export interface RunOptions {
  /** load before the fault; default 4 s */
  warmupMs?: number;
  /** load after the fault was undone; default 8 s */
  observeMs?: number;
}

/** Runs the load, injects the fault, keeps the load on a while, stops, verifies every chain, measures. */
export async function runFault(c: FaultCase, name: string, fault: () => Promise<FaultWindow>, options: RunOptions = {}): Promise<CaseReport> {
  // the driver and the proxy share this process: if its event loop stalls, their timings grow
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  c.driver.start();
  await sleep(options.warmupMs ?? 4_000);
  const window = await fault();
  const loadAverage = Math.round(loadavg()[0]! * 10) / 10;
  await sleep(options.observeMs ?? 8_000);
  await c.driver.stop();
  await c.driver.verify();
  loopDelay.disable();
  const harness = { loopDelayP99Ms: Math.round(loopDelay.percentile(99) / 1e6), loopDelayMaxMs: Math.round(loopDelay.max / 1e6), loadAverage };
  return measure(name, c.driver, window, c.cluster.proxy.events, harness);
}

export interface Signalled {
  at: number;
  /** requests in flight on the instance when it was signalled */
  inflight: number;
  /** of which refreshes, with how long each had been in flight (ms) */
  refreshAges: number[];
}

/**
 * Signals `instance` in the middle of refreshes. All chains refresh at once (a burst), and:
 *
 * - `answered`: the instance is signalled the moment it has answered one refresh while others
 *   are still in flight on it. Those are at the same stage or close behind, where an instance
 *   may have rotated the token in the database and not yet answered: the case that breaks a
 *   chain if the server then refuses the client's retry (for SIGKILL);
 * - `forwarded`: the instance is signalled the moment the third refresh of the burst has been
 *   written to it, so that it certainly holds requests it has not answered yet, whatever the
 *   lag between its view and the proxy's (for SIGTERM: a graceful stop must finish them).
 */
export function signalMidRefresh(c: FaultCase, instance: PosternInstance, signal: NodeJS.Signals, when: 'answered' | 'forwarded', timeoutMs = 10_000): Promise<Signalled> {
  const proxy = c.cluster.proxy;
  const refreshesOn = () => proxy.inflight(instance.index).filter((request) => request.grantType === 'refresh_token');
  const isRefreshOn = (request: InFlight) => request.backend === instance.index && request.grantType === 'refresh_token';
  return new Promise((resolve) => {
    let done = false;
    let again: NodeJS.Timeout | undefined;
    const stops: (() => void)[] = [];
    const fire = () => {
      if (done) return;
      done = true;
      for (const stop of stops) stop();
      clearTimeout(fallback);
      clearInterval(again);
      const at = now();
      const inflight = proxy.inflight(instance.index).length;
      const refreshAges = refreshesOn().map((request) => Math.round(at - request.since));
      instance.signal(signal);
      resolve({ at, inflight, refreshAges });
    };
    const fallback = setTimeout(fire, timeoutMs);
    if (when === 'answered') {
      stops.push(proxy.onSettled((request) => isRefreshOn(request) && refreshesOn().length > 0 && fire()));
    } else {
      let forwarded = 0;
      stops.push(proxy.onForward((request) => isRefreshOn(request) && (forwarded += 1) >= 3 && fire()));
    }
    c.driver.burst();
    // should the moment not come (the burst met chains busy retrying), burst again
    again = setInterval(() => c.driver.burst(), 2_000);
  });
}

/** Error lines in an instance's log grouped by message, and the count of warnings: to see why a case failed. */
export function logSummary(instance: PosternInstance): { errors: number; warnings: number; top: string[] } {
  const counts = new Map<string, number>();
  let errors = 0;
  let warnings = 0;
  for (const line of instance.log().split('\n')) {
    if (!line.startsWith('{')) {
      // not pino: a crash or an uncaught error printed by Node
      if (/error/i.test(line) && !line.includes('WARNING')) counts.set(`(raw) ${line.slice(0, 160)}`, (counts.get(`(raw) ${line.slice(0, 160)}`) ?? 0) + 1);
      continue;
    }
    let entry: { level?: number; msg?: string; err?: { message?: string } };
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    if ((entry.level ?? 0) < 40) continue;
    if ((entry.level ?? 0) < 50) {
      warnings += 1;
      continue;
    }
    errors += 1;
    const key = `${entry.msg ?? ''}${entry.err?.message ? `: ${entry.err.message.split('\n')[0]!.slice(0, 140)}` : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([message, count]) => `${count}× ${message}`);
  return { errors, warnings, top };
}

/** Prints the report (and each instance's error summary) so the figures show whether the case passes or not. */
export function print(report: CaseReport, c: FaultCase, extra: Record<string, unknown> = {}): void {
  const logs = Object.fromEntries(
    c.cluster.instances.map((instance) => {
      const summary = logSummary(instance);
      return [`instance ${instance.index} log`, `${summary.errors} errors, ${summary.warnings} warnings${summary.top.length ? ` — ${summary.top.join(' | ')}` : ''}`];
    }),
  );
  process.stdout.write(`${format(report, { ...extra, setup: `${c.setupMs} ms (${c.cluster.instances.length} instances, ${c.driver.chains.length} chains)`, ...logs })}\n`);
  // with the logs kept, every request too, for a closer look
  if (process.env.POSTERN_FAULTS_KEEP_LOGS) {
    writeFileSync(join(c.logDir, 'report.json'), JSON.stringify({ report, extra, records: c.driver.records, proxyEvents: c.cluster.proxy.events }, null, 1));
  }
}

export { now };

/** Instances that exited (crashed or stopped) during the case: none should, when only storage misbehaves. */
export function exitedInstances(c: FaultCase): string[] {
  return c.cluster.instances.filter((instance) => instance.exit).map((instance) => `instance ${instance.index} exited (code ${instance.exit!.code}, signal ${instance.exit!.signal})`);
}
