/**
 * `npm run bench`: Postern (PostgreSQL + Redis, production settings) against a bare oidc-provider
 * baseline, scenario by scenario, each measurement driven from its own load process.
 * See bench/README.md for what is measured and how to read the table.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import knex from 'knex';
import { Browser } from './lib/browser.ts';
import { authorizationCodeFlow, clientCredentialsToken, harvestRefreshTokens } from './lib/code-flow.ts';
import { parseOptions, type BenchOptions } from './lib/options.ts';
import { peakRssBytes, processesMatching, processTree, rssBytes, usageMeter } from './lib/proc.ts';
import { checkTargets, hardwareLine, markdown, mb, type Hardware, type Measurement, type TargetSummary } from './lib/report.ts';
import type { LoadResult, ScenarioName, TargetInfo } from './lib/scenarios.ts';
import { BENCH_API, BENCH_PASSWORD, BENCH_REDIRECT_URI, BENCH_USERNAME, seedPostern, type PosternFixture } from './lib/seed.ts';
import { freePort, nodeArgs, startServer, type ServerProcess } from './lib/servers.ts';
import { runSoak, SOAK_SCENARIOS, soakMarkdown, type SoakResult } from './lib/soak.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = join(ROOT, 'bench', 'results');
const POSTERN_LOG = join(RESULTS, 'postern.log');
const BASELINE_LOG = join(RESULTS, 'baseline.log');
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * A bare oidc-provider cannot introspect its own JWT access tokens (it stores nothing for them and
 * answers 400 unsupported_token_type); Postern can, through its shadow records.
 */
const UNSUPPORTED_BY_BASELINE: ReadonlySet<ScenarioName> = new Set(['introspect_jwt']);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const say = (line: string) => process.stderr.write(`bench: ${line}\n`);

/** Runs `node <args>` and returns its last stdout line parsed as JSON. */
async function runJson<T>(args: string[], env: Record<string, string | undefined> = process.env): Promise<T> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`node ${args.join(' ')} exited with ${code}`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as T;
}

// ------------------------------------------------------------------ storage of this run

async function createBenchDatabase(name: string): Promise<string> {
  const admin = knex({ client: 'pg', connection: DATABASE_URL, pool: { min: 0, max: 1 } });
  try {
    await admin.raw(`create database ${name}`);
  } finally {
    await admin.destroy();
  }
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function dropBenchDatabase(name: string): Promise<void> {
  const admin = knex({ client: 'pg', connection: DATABASE_URL, pool: { min: 0, max: 1 } });
  try {
    await admin.raw(`drop database if exists ${name} with (force)`);
  } finally {
    await admin.destroy();
  }
}

async function deleteRedisPrefix(prefix: string): Promise<number> {
  const redis = new Redis(REDIS_URL);
  let cursor = '0';
  let deleted = 0;
  try {
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
  return deleted;
}

// ------------------------------------------------------------------ measurements

async function measure(
  server: ServerProcess,
  targetFile: string,
  target: string,
  scenario: ScenarioName,
  connections: number,
  seconds: number,
  database: string | undefined,
): Promise<Measurement> {
  const child = spawn(process.execPath, [join(ROOT, 'bench', 'load.ts'), scenario, targetFile, String(connections), String(seconds)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const serverMeter = usageMeter(server.pid);
  const loadMeter = usageMeter(child.pid!);
  // PostgreSQL backends serving this run's database ("postgres: … postern_bench_x 127.0.0.1(port) idle")
  const databaseMeter = usageMeter(() => (database ? processesMatching(` ${database} `) : []));
  let result: LoadResult | undefined;
  let usage = { cpuPercent: 0, peakRss: 0 };
  let loadUsage = { cpuPercent: 0, peakRss: 0 };
  let databaseUsage = { cpuPercent: 0, peakRss: 0 };
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  for await (const line of createInterface({ input: child.stdout })) {
    if (!line.startsWith('{')) continue;
    const message = JSON.parse(line) as { event: string } & LoadResult;
    if (message.event === 'start') {
      serverMeter.start();
      loadMeter.start();
      databaseMeter.start();
    } else if (message.event === 'result') {
      usage = serverMeter.stop();
      loadUsage = loadMeter.stop();
      databaseUsage = databaseMeter.stop();
      const { event: _event, ...rest } = message;
      result = rest;
    }
  }
  const code = child.exitCode ?? (await new Promise<number | null>((resolve) => child.once('exit', resolve)));
  if (!result || code !== 0) {
    const failure = `load process exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' ').slice(0, 300)}`;
    return {
      scenario, target, connections, seconds: 0, completed: 0, rate: 0, httpRate: 0,
      latencyMs: { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 }, errors: 1, non2xx: 0, timeouts: 0, statusCodes: {},
      serverCpuPercent: 0, serverPeakRssMb: 0, loadCpuPercent: 0, databaseCpuPercent: 0, serverCpuMsPerRequest: 0, failure,
    };
  }
  return {
    ...result,
    serverCpuPercent: Math.round(usage.cpuPercent),
    serverPeakRssMb: mb(usage.peakRss),
    loadCpuPercent: Math.round(loadUsage.cpuPercent),
    databaseCpuPercent: Math.round(databaseUsage.cpuPercent),
    serverCpuMsPerRequest: result.rate > 0 ? Math.round((usage.cpuPercent / 100 / result.rate) * 1000 * 1000) / 1000 : 0,
  };
}

/** Tokens the scenarios need, obtained from the server through real flows. */
async function prepareTarget(info: TargetInfo, options: BenchOptions, workdir: string): Promise<TargetInfo> {
  const prepared: TargetInfo = { ...info };
  const wants = (scenario: ScenarioName) => options.scenarios.includes(scenario);
  if (wants('introspect_jwt')) prepared.jwtAccessToken = (await clientCredentialsToken(info, 'read')).access_token;
  if (wants('introspect_opaque') || wants('userinfo')) {
    prepared.opaqueAccessToken = (await authorizationCodeFlow(new Browser(info.url), info, { scope: 'openid' })).tokens.access_token;
  }
  if (wants('refresh')) {
    const started = performance.now();
    const tokens = await harvestRefreshTokens(info, options.pool, options.smoke ? 4 : 32);
    prepared.refreshPoolFile = join(workdir, `${info.name.replace(/\W+/g, '-')}-refresh-pool.txt`);
    await writeFile(prepared.refreshPoolFile, tokens.join('\n'));
    say(`${info.name}: ${tokens.length} refresh tokens through code flows in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  return prepared;
}

async function benchmarkTarget(
  server: ServerProcess,
  info: TargetInfo,
  kind: TargetSummary['kind'],
  workers: number,
  options: BenchOptions,
  workdir: string,
  measurements: Measurement[],
  database?: string,
): Promise<TargetSummary> {
  await sleep(options.smoke ? 1000 : 2000);
  const idleRssMb = mb(rssBytes(processTree(server.pid)));
  say(`${info.name}: idle RSS ${idleRssMb} MB`);
  const prepStarted = performance.now();
  const prepared = await prepareTarget(info, options, workdir);
  const preparationSeconds = (performance.now() - prepStarted) / 1000;
  const targetFile = join(workdir, `${info.name.replace(/\W+/g, '-')}.json`);
  await writeFile(targetFile, JSON.stringify(prepared));

  for (const scenario of options.scenarios) {
    if (kind === 'baseline' && UNSUPPORTED_BY_BASELINE.has(scenario)) continue;
    if (options.warmup > 0) await measure(server, targetFile, info.name, scenario, Math.min(10, Math.max(...options.concurrency)), options.warmup, database);
    for (const connections of options.concurrency) {
      const m = await measure(server, targetFile, info.name, scenario, connections, options.seconds, database);
      measurements.push(m);
      say(
        m.failure
          ? `${info.name} ${scenario} c=${connections}: FAILED ${m.failure}`
          : `${info.name} ${scenario} c=${connections}: ${m.rate}/s p50 ${m.latencyMs.p50} ms p99 ${m.latencyMs.p99} ms errors ${m.errors} server CPU ${m.serverCpuPercent}% db CPU ${m.databaseCpuPercent}%${m.notes ? ` ${m.notes.join(' / ')}` : ''}`,
      );
    }
  }
  const tree = processTree(server.pid);
  return { name: info.name, kind, workers, idleRssMb, finalRssMb: mb(rssBytes(tree)), peakRssMb: mb(peakRssBytes(tree)), preparationSeconds };
}

/** Error lines and 5xx responses in Postern's log. */
interface LogScan {
  /** pino lines at level error or fatal */
  errorLines: number;
  /** lines that are not pino JSON (warnings printed by libraries, crashes) */
  otherLines: number;
  /** access-log lines with a status of 500 or more */
  responses5xx: number;
  /** request lines by status code */
  statuses: Record<string, number>;
  samples: string[];
}

/** Read line by line: a long soak leaves hundreds of MB of access log. */
async function scanLog(file: string): Promise<LogScan> {
  const scan: LogScan = { errorLines: 0, otherLines: 0, responses5xx: 0, statuses: {}, samples: [] };
  const seen = new Set<string>();
  const sample = (line: string) => {
    const key = line.replace(/"(time|reqId)":"[^"]*",?/g, '').slice(0, 200);
    if (!seen.has(key) && scan.samples.length < 8) scan.samples.push(line.slice(0, 400));
    seen.add(key);
  };
  const input = createReadStream(file, 'utf8');
  const opened = await new Promise<boolean>((resolve) => {
    input.once('ready', () => resolve(true));
    input.once('error', () => resolve(false));
  });
  if (!opened) return scan;
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    if (!line) continue;
    let entry: { level?: number; status?: number; msg?: string; bench?: string };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      scan.otherLines += 1;
      sample(line);
      continue;
    }
    if (entry.bench) continue;
    if ((entry.level ?? 0) >= 50) {
      scan.errorLines += 1;
      sample(line);
    }
    if (entry.msg === 'request') {
      const status = String(entry.status);
      scan.statuses[status] = (scan.statuses[status] ?? 0) + 1;
      if ((entry.status ?? 0) >= 500) scan.responses5xx += 1;
    }
  }
  return scan;
}

// ------------------------------------------------------------------ main

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const startedAt = new Date();
  const loadAverage = loadavg();
  const runId = randomBytes(5).toString('hex');
  const workdir = await mkdtemp(join(tmpdir(), 'postern-bench-'));
  const cleanups: Array<() => Promise<unknown>> = [() => rm(workdir, { recursive: true, force: true })];
  const running = new Set<ServerProcess>();
  let cleaning: Promise<void> | undefined;
  const cleanup = () => {
    cleaning ??= (async () => {
      for (const server of running) await server.stop().catch(() => {});
      for (const step of cleanups.reverse()) await step().catch((error: unknown) => say(`cleanup: ${String(error)}`));
    })();
    return cleaning;
  };
  const interrupted = () => {
    say('interrupted: cleaning up');
    void cleanup().then(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);

  try {
    await writeFile(POSTERN_LOG, '');
    await writeFile(BASELINE_LOG, '');
    say(`hardware limits (${options.signSeconds} s RS256, ${options.argonSeconds} s argon2id)…`);
    const hardware = await runJson<Hardware>([join(ROOT, 'bench', 'hardware.ts'), String(options.signSeconds), String(options.argonSeconds)]);
    say(`RS256 ${hardware.rs256SignsPerSecondOneCore}/s on one core, argon2id ${hardware.argon2idVerifiesPerSecond} verifies/s`);

    const measurements: Measurement[] = [];
    const summaries: TargetSummary[] = [];
    const base = { redirectUri: BENCH_REDIRECT_URI, username: BENCH_USERNAME, password: BENCH_PASSWORD, api: BENCH_API };

    if (options.targets.includes('baseline')) {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const clientId = randomBytes(16).toString('base64url');
      const clientSecret = randomBytes(32).toString('base64url');
      const server = await startServer({
        label: 'baseline',
        args: [...nodeArgs('BENCH_BASELINE_NODE_ARGS'), join(ROOT, 'bench', 'baseline-server.ts')],
        env: {
          ...process.env,
          NODE_ENV: 'production',
          BASELINE_PORT: String(port),
          BASELINE_ISSUER: url,
          BENCH_CLIENT_ID: clientId,
          BENCH_CLIENT_SECRET: clientSecret,
          BENCH_REDIRECT_URI: BENCH_REDIRECT_URI,
          BENCH_USERNAME: BENCH_USERNAME,
          BENCH_PASSWORD: BENCH_PASSWORD,
          BENCH_API: BENCH_API,
        },
        url,
        logFile: BASELINE_LOG,
        cwd: ROOT,
      });
      running.add(server);
      say(`baseline (bare oidc-provider) on ${url}`);
      summaries.push(await benchmarkTarget(server, { ...base, name: 'baseline', url, clientId, clientSecret }, 'baseline', 1, options, workdir, measurements));
      await server.stop();
      running.delete(server);
    }

    let large: { seconds: number; accounts: number; refreshTokens: number } | undefined;
    let soak: SoakResult | undefined;
    if (options.targets.includes('postern') || options.soak !== undefined) {
      const database = `postern_bench_${runId}`;
      const databaseUrl = await createBenchDatabase(database);
      cleanups.push(() => dropBenchDatabase(database));
      const redisPrefix = `postern-bench-${runId}:`;
      cleanups.push(() => deleteRedisPrefix(redisPrefix));
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const posternEnv: Record<string, string> = {
        NODE_ENV: 'production',
        PORT: String(port),
        HOST: '127.0.0.1',
        POSTERN_ISSUER: url,
        // loopback only: the harness has no TLS, and production otherwise refuses an http issuer
        POSTERN_ALLOW_HTTP_ISSUER: 'true',
        DATABASE_URL: databaseUrl,
        REDIS_URL,
        POSTERN_REDIS_PREFIX: redisPrefix,
        POSTERN_MASTER_KEY: randomBytes(32).toString('base64'),
        POSTERN_COOKIE_KEYS: [randomBytes(32).toString('base64url'), randomBytes(32).toString('base64url')].join(','),
        LOG_LEVEL: 'info',
        ...(options.metrics ? { POSTERN_METRICS_TOKEN: randomBytes(32).toString('hex') } : {}),
        // rate limiting stays on (every counted request still pays for its counters); the limits are raised above the load
        ...Object.fromEntries(
          ['TOKEN', 'INTROSPECTION', 'REVOCATION', 'USERINFO', 'LOGIN'].map((endpoint) => [`POSTERN_RATE_LIMIT_${endpoint}`, '100000000/1m']),
        ),
      };
      say(`postern database ${database}, redis prefix ${redisPrefix}; seeding through src/services.ts`);
      const fixture: PosternFixture = await seedPostern(posternEnv);
      const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('POSTERN_')));
      const env = { ...inherited, ...posternEnv };

      const runPostern = async (name: string, workers: number) => {
        const entry = [join(ROOT, 'src', 'main.ts'), ...(workers > 1 ? ['--workers', String(workers)] : [])];
        const server = await startServer({ label: name, args: [...nodeArgs('BENCH_NODE_ARGS'), ...entry], env, url, logFile: POSTERN_LOG, cwd: ROOT });
        running.add(server);
        say(`${name} on ${url} (${workers} process${workers > 1 ? 'es' : ''}, pid ${server.pid})`);
        try {
          summaries.push(await benchmarkTarget(server, { ...base, name, url, ...fixture }, 'postern', workers, options, workdir, measurements, database));
        } finally {
          await server.stop();
          running.delete(server);
        }
      };
      if (options.matrix && options.targets.includes('postern')) {
        for (const workers of options.workers) await runPostern(workers > 1 ? `postern×${workers}` : 'postern', workers);
      }

      if (options.large) {
        say(`seeding ${options.largeCount} accounts and ${options.largeCount} refresh tokens (bench/seed-large.ts)…`);
        large = await runJson([join(ROOT, 'bench', 'seed-large.ts'), databaseUrl, String(options.largeCount)]);
        say(`large seed done in ${large!.seconds} s`);
        const workers = options.workers[0]!;
        await runPostern(`postern${workers > 1 ? `×${workers}` : ''} (large)`, workers);
      }

      if (options.soak !== undefined) {
        // last, on a fresh single process: the reference point must see the soak's own first minute
        const name = 'postern (soak)';
        const memoryFile = join(workdir, 'soak-memory.jsonl');
        const probe = ['--import', pathToFileURL(join(ROOT, 'bench', 'memory-probe.ts')).href];
        const server = await startServer({
          label: name,
          args: [...nodeArgs('BENCH_NODE_ARGS'), ...probe, join(ROOT, 'src', 'main.ts')],
          env: { ...env, BENCH_MEMORY_FILE: memoryFile },
          url,
          logFile: POSTERN_LOG,
          cwd: ROOT,
        });
        running.add(server);
        say(`${name} on ${url} (1 process, pid ${server.pid})`);
        try {
          await sleep(options.smoke ? 1000 : 2000);
          const idleRssMb = mb(rssBytes(processTree(server.pid)));
          const prepared = await prepareTarget({ ...base, name, url, ...fixture }, { ...options, scenarios: [...SOAK_SCENARIOS] }, workdir);
          const targetFile = join(workdir, 'postern-soak.json');
          await writeFile(targetFile, JSON.stringify(prepared));
          const preparedRssMb = mb(rssBytes(processTree(server.pid)));
          say(`${name}: idle RSS ${idleRssMb} MB, ${preparedRssMb} MB after preparation`);
          soak = await runSoak({
            root: ROOT,
            target: name,
            serverPid: server.pid,
            targetFile,
            database,
            minutes: options.soak,
            connections: options.soakConcurrency,
            flows: options.soakFlows,
            idleRssMb,
            preparedRssMb,
            memoryFile,
            say,
          });
          say(`${name}: RSS ${soak.reference.rssMb} MB at ${soak.reference.t} s, ${soak.end.rssMb} MB at ${soak.end.t} s (${soak.check.got}), errors ${soak.errors}`);
        } finally {
          await server.stop();
          running.delete(server);
        }
      }
    }

    const checks = checkTargets(measurements, summaries, hardware);
    const sections = [options.matrix ? markdown({ hardware, measurements, targets: summaries, checks, seconds: options.seconds, loadAverage }) : hardwareLine(hardware, loadAverage)];
    if (soak) {
      sections.push(soakMarkdown(soak));
      checks.push(soak.check);
    }
    const table = sections.join('\n\n');
    const log = await scanLog(POSTERN_LOG);
    const failed = measurements.filter((m) => m.failure || m.errors > 0);
    const report = {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      node: process.version,
      loadAverageAtStart: loadAverage,
      options,
      hardware,
      targets: summaries,
      measurements,
      checks,
      large,
      soak,
      posternLog: log,
      markdown: table,
    };
    const file = join(RESULTS, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`\n${table}\n\n`);
    process.stdout.write(
      `Postern log (${POSTERN_LOG}): ${log.errorLines} error lines, ${log.otherLines} non-JSON lines, ${log.responses5xx} responses ≥ 500; statuses ${JSON.stringify(log.statuses)}\n`,
    );
    for (const sample of log.samples) process.stdout.write(`  ${sample}\n`);
    process.stdout.write(`results: ${file}\n`);
    let status = 0;
    if (failed.length > 0) {
      process.stdout.write(`${failed.length} measurement(s) had errors: ${failed.map((m) => `${m.target}/${m.scenario}/c=${m.connections}`).join(', ')}\n`);
      status = 1;
    }
    if (soak && soak.errors > 0) {
      const which = soak.scenarios.filter((s) => s.errors > 0 || s.failure).map((s) => `${s.scenario} ${s.failure ? 'FAILED' : s.errors}`);
      process.stdout.write(`the soak had ${soak.errors} error(s): ${which.join(', ')}\n`);
      status = 1;
    }
    return status;
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
