/**
 * `npm run bench -- --soak MINUTES`: a leak check. One Postern process serves a mixed load for
 * MINUTES minutes — client_credentials, refresh (rotation, from the pool), opaque-token
 * introspection, userinfo (autocannon, `connections` each) and whole code flows (`flows`
 * concurrent) — all at once, each from its own `bench/load.ts` process. The server's RSS is read
 * from /proc every second; the RSS at the end is compared with the RSS after 1 minute (after a
 * third of the run when the run is shorter than 1.5 minutes). See bench/README.md.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { cpuSeconds, peakRssBytes, processesMatching, processTree, rssBytes, usageMeter } from './proc.ts';
import { mb, type TargetCheck } from './report.ts';
import { SCENARIO_LABELS, type LoadResult, type ScenarioName } from './scenarios.ts';

/** The scenarios of the mixed load, each in its own load process. */
export const SOAK_SCENARIOS: readonly ScenarioName[] = ['client_credentials', 'refresh', 'introspect_opaque', 'userinfo', 'flow'];

/** RSS growth from the reference point to the end that still counts as "no leak". */
const ALLOWED_GROWTH = 0.1;

export interface SoakSample {
  /** seconds since every load process had started */
  t: number;
  /** Date.now() of the sample */
  at: number;
  /** server RSS from /proc, MB */
  rssMb: number;
  /** V8 heap (bench/memory-probe.ts in the server: its newest line at or before `at`), MB */
  heapUsedMb?: number;
  heapTotalMb?: number;
  /** server CPU seconds since t = 0 */
  cpuSeconds: number;
  /** running totals per scenario (responses; flows for `flow`) */
  completed: Partial<Record<ScenarioName, number>>;
  errors: Partial<Record<ScenarioName, number>>;
}

export interface SoakInterval {
  /** seconds since the start of the load */
  from: number;
  to: number;
  /** RSS at the end of the interval, and lowest/highest 1-second sample in it, MB */
  rssMb: number;
  rssMinMb: number;
  rssMaxMb: number;
  /** V8 heap committed (heapTotal) at the end of the interval, MB */
  heapTotalMb?: number;
  /** heap used at the end of the interval, and its lowest 1-second sample in it (≈ live heap after GC), MB */
  heapUsedMb?: number;
  heapUsedMinMb?: number;
  serverCpuPercent: number;
  /** per scenario: requests/s (flows/s for `flow`) in the interval */
  rates: Partial<Record<ScenarioName, number>>;
  /** errors of all scenarios in the interval */
  errors: number;
}

export interface SoakPoint {
  /** seconds since the start of the load */
  t: number;
  rssMb: number;
  heapUsedMb?: number;
}

export interface SoakScenario extends LoadResult {
  /** set when the load process failed outright */
  failure?: string;
}

export interface SoakResult {
  /** asked for */
  minutes: number;
  connections: number;
  flows: number;
  /** RSS 2 s after start, and after the preparation (tokens, refresh pool), before the load, MB */
  idleRssMb: number;
  preparedRssMb: number;
  /** the comparison point: 1 min into the load, or a third of the run when shorter than 1.5 min */
  reference: SoakPoint & { why: string };
  /** the last sample taken while every load process was still running */
  end: SoakPoint;
  /** end RSS / reference RSS */
  ratio: number;
  growthPercent: number;
  /** VmHWM at the end, MB */
  peakRssMb: number;
  serverCpuPercent: number;
  databaseCpuPercent: number;
  /** sum of the load processes' errors (non-2xx, socket errors, timeouts, failed flows), +1 per failed process */
  errors: number;
  scenarios: SoakScenario[];
  intervals: SoakInterval[];
  samples: SoakSample[];
  check: TargetCheck;
}

interface LoadChild {
  scenario: ScenarioName;
  started: Promise<void>;
  done: Promise<SoakScenario>;
  completed: number;
  errors: number;
  stop(): void;
}

function failedScenario(scenario: ScenarioName, target: string, connections: number, failure: string): SoakScenario {
  return {
    scenario, target, connections, seconds: 0, completed: 0, rate: 0, httpRate: 0,
    latencyMs: { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 }, errors: 1, non2xx: 0, timeouts: 0, statusCodes: {}, failure,
  };
}

/** `node bench/load.ts <scenario> <target> <connections> <seconds> 1`: progress every second. */
function startLoad(root: string, target: string, targetFile: string, scenario: ScenarioName, connections: number, seconds: number): LoadChild {
  const child = spawn(process.execPath, [join(root, 'bench', 'load.ts'), scenario, targetFile, String(connections), String(seconds), '1'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    if (stderr.length > 20_000) stderr = stderr.slice(-10_000);
  });
  let markStarted = () => {};
  const started = new Promise<void>((resolve) => {
    markStarted = resolve;
  });
  const load: LoadChild = {
    scenario,
    started,
    completed: 0,
    errors: 0,
    done: Promise.resolve(failedScenario(scenario, target, connections, 'not started')),
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
  load.done = (async () => {
    let result: LoadResult | undefined;
    for await (const line of createInterface({ input: child.stdout })) {
      if (!line.startsWith('{')) continue;
      const message = JSON.parse(line) as { event: string; completed?: number; errors?: number } & LoadResult;
      if (message.event === 'start') markStarted();
      else if (message.event === 'progress') {
        load.completed = message.completed ?? load.completed;
        load.errors = message.errors ?? load.errors;
      } else if (message.event === 'result') {
        const { event: _event, ...rest } = message;
        result = rest;
        load.completed = rest.completed;
        load.errors = rest.errors;
      }
    }
    const code = child.exitCode ?? (await new Promise<number | null>((resolve) => child.once('exit', resolve)));
    markStarted(); // a process that died before its window opened must not hold up the others
    if (!result || code !== 0) {
      return failedScenario(scenario, target, connections, `load process exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' ').slice(0, 300)}`);
    }
    return result;
  })();
  return load;
}

interface ProbeLine {
  t: number;
  heapUsed: number;
  heapTotal: number;
}

async function readProbe(file: string | undefined): Promise<ProbeLine[]> {
  if (!file) return [];
  try {
    return (await readFile(file, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as ProbeLine)
      .sort((a, b) => a.t - b.t);
  } catch {
    return [];
  }
}

/** The sample nearest to `t` seconds. */
function nearest(samples: SoakSample[], t: number): SoakSample {
  let best = samples[0]!;
  for (const sample of samples) if (Math.abs(sample.t - t) < Math.abs(best.t - t)) best = sample;
  return best;
}

const round1 = (value: number) => Math.round(value * 10) / 10;

function intervalsOf(samples: SoakSample[], scenarios: readonly ScenarioName[]): SoakInterval[] {
  const end = samples.at(-1)!;
  const boundaries: number[] = [];
  for (let t = 60; t < end.t - 0.5; t += 60) boundaries.push(t);
  boundaries.push(end.t);
  const intervals: SoakInterval[] = [];
  let previous = samples[0]!;
  for (const boundary of boundaries) {
    const current = boundary === end.t ? end : nearest(samples, boundary);
    if (current.t <= previous.t) continue;
    const inside = samples.filter((s) => s.t > previous.t && s.t <= current.t);
    const seconds = current.t - previous.t;
    const rates: Partial<Record<ScenarioName, number>> = {};
    let errors = 0;
    for (const scenario of scenarios) {
      rates[scenario] = round1(((current.completed[scenario] ?? 0) - (previous.completed[scenario] ?? 0)) / seconds);
      errors += (current.errors[scenario] ?? 0) - (previous.errors[scenario] ?? 0);
    }
    const heaps = inside.map((s) => s.heapUsedMb).filter((h): h is number => h !== undefined);
    intervals.push({
      from: round1(previous.t),
      to: round1(current.t),
      rssMb: current.rssMb,
      rssMinMb: Math.min(...inside.map((s) => s.rssMb)),
      rssMaxMb: Math.max(...inside.map((s) => s.rssMb)),
      ...(current.heapTotalMb !== undefined ? { heapTotalMb: current.heapTotalMb } : {}),
      ...(current.heapUsedMb !== undefined ? { heapUsedMb: current.heapUsedMb } : {}),
      ...(heaps.length > 0 ? { heapUsedMinMb: Math.min(...heaps) } : {}),
      serverCpuPercent: Math.round(((current.cpuSeconds - previous.cpuSeconds) / seconds) * 100),
      rates,
      errors,
    });
    previous = current;
  }
  return intervals;
}

function point(sample: SoakSample): SoakPoint {
  return { t: round1(sample.t), rssMb: sample.rssMb, ...(sample.heapUsedMb !== undefined ? { heapUsedMb: sample.heapUsedMb } : {}) };
}

const minutesText = (minutes: number) => (Number.isInteger(minutes) ? String(minutes) : String(Math.round(minutes * 100) / 100));

/**
 * Drives the mixed load against a running, prepared Postern and samples it. `targetFile` is the
 * TargetInfo with the opaque access token and the refresh pool (prepared like the scenarios').
 */
export async function runSoak(input: {
  root: string;
  /** label in the report, e.g. `postern (soak)` */
  target: string;
  serverPid: number;
  targetFile: string;
  /** the run's database name, to find the PostgreSQL backends serving it */
  database: string;
  minutes: number;
  connections: number;
  flows: number;
  idleRssMb: number;
  preparedRssMb: number;
  /** the file bench/memory-probe.ts writes in the server (if it was preloaded) */
  memoryFile?: string;
  say: (line: string) => void;
}): Promise<SoakResult> {
  const { minutes, connections, flows, say } = input;
  const seconds = Math.max(1, Math.round(minutes * 60));
  const loads = SOAK_SCENARIOS.map((scenario) =>
    startLoad(input.root, input.target, input.targetFile, scenario, scenario === 'flow' ? flows : connections, seconds),
  );
  const stopAll = () => loads.forEach((load) => load.stop());
  process.once('exit', stopAll);
  try {
    await Promise.all(loads.map((load) => load.started));
    const pids = processTree(input.serverPid);
    const databaseMeter = usageMeter(() => processesMatching(` ${input.database} `), 1000);
    databaseMeter.start();
    const t0 = performance.now();
    const cpu0 = cpuSeconds(pids);
    const samples: SoakSample[] = [];
    const sample = () => {
      const completed: SoakSample['completed'] = {};
      const errors: SoakSample['errors'] = {};
      for (const load of loads) {
        completed[load.scenario] = load.completed;
        errors[load.scenario] = load.errors;
      }
      samples.push({ t: (performance.now() - t0) / 1000, at: Date.now(), rssMb: mb(rssBytes(pids)), cpuSeconds: cpuSeconds(pids) - cpu0, completed, errors });
    };
    sample();
    let lastMinute = 0;
    const timer = setInterval(() => {
      sample();
      const last = samples.at(-1)!;
      if (Math.floor(last.t / 60) > lastMinute) {
        lastMinute = Math.floor(last.t / 60);
        const errors = loads.reduce((sum, load) => sum + load.errors, 0);
        say(`soak: ${lastMinute} min, RSS ${last.rssMb} MB, errors ${errors}`);
      }
    }, 1000);
    say(`soak: ${minutesText(minutes)} min of ${SOAK_SCENARIOS.map((s) => `${s}${s === 'flow' ? ` ×${flows}` : ` c=${connections}`}`).join(', ')}`);
    // the end point is the last moment every load process is still running
    const first = await Promise.race(loads.map((load) => load.done));
    clearInterval(timer);
    sample();
    if (first.failure) {
      // one load process died (or could not start): the mix is broken, so stop the others too
      say(`soak: ${first.scenario} failed (${first.failure}); stopping the other load processes`);
      stopAll();
    }
    const databaseUsage = databaseMeter.stop();
    const scenarios = await Promise.all(loads.map((load) => load.done));
    const peakRssMb = mb(peakRssBytes(pids));

    const probe = await readProbe(input.memoryFile);
    if (probe.length > 0) {
      let next = 0;
      for (const s of samples) {
        while (next + 1 < probe.length && probe[next + 1]!.t <= s.at) next += 1;
        const line = probe[next]!;
        if (line.t <= s.at) {
          s.heapUsedMb = mb(line.heapUsed);
          s.heapTotalMb = mb(line.heapTotal);
        }
      }
    }

    const end = samples.at(-1)!;
    const short = minutes < 1.5;
    const referenceAt = short ? seconds / 3 : 60;
    const reference = nearest(samples, referenceAt);
    const ratio = end.rssMb / reference.rssMb;
    const growthPercent = Math.round((ratio - 1) * 1000) / 10;
    const errors = scenarios.reduce((sum, s) => sum + s.errors, 0);
    const what = short
      ? `RSS after ${minutesText(round1(end.t / 60))} min vs after ${minutesText(round1(reference.t / 60))} min (1/3 of a run shorter than 1.5 min)`
      : `RSS after ${minutesText(minutes)} min vs after 1 min`;
    const check: TargetCheck = {
      target: input.target,
      what,
      goal: `within ${ALLOWED_GROWTH * 100} %`,
      got: `${growthPercent >= 0 ? '+' : ''}${growthPercent.toFixed(1)} % (${reference.rssMb.toFixed(1)} → ${end.rssMb.toFixed(1)} MB)`,
      ok: ratio <= 1 + ALLOWED_GROWTH,
    };
    return {
      minutes,
      connections,
      flows,
      idleRssMb: input.idleRssMb,
      preparedRssMb: input.preparedRssMb,
      reference: { ...point(reference), why: short ? `a third of the run (${minutesText(minutes)} min < 1.5 min)` : '1 min into the load' },
      end: point(end),
      ratio: Math.round(ratio * 1000) / 1000,
      growthPercent,
      peakRssMb,
      serverCpuPercent: end.t > 0 ? Math.round((end.cpuSeconds / end.t) * 100) : 0,
      databaseCpuPercent: Math.round(databaseUsage.cpuPercent),
      errors,
      scenarios,
      intervals: intervalsOf(samples, SOAK_SCENARIOS),
      samples: samples.map((s) => ({ ...s, t: Math.round(s.t * 100) / 100, cpuSeconds: Math.round(s.cpuSeconds * 100) / 100 })),
      check,
    };
  } finally {
    process.off('exit', stopAll);
    stopAll();
  }
}

function fmt(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

const SHORT_LABELS: Record<ScenarioName, string> = {
  client_credentials: 'client_credentials/s',
  refresh: 'refresh/s',
  introspect_jwt: 'introspect JWT/s',
  introspect_opaque: 'introspect opaque/s',
  userinfo: 'userinfo/s',
  flow: 'flows/s',
  jwks: 'jwks/s',
  discovery: 'discovery/s',
};

export function soakMarkdown(soak: SoakResult): string {
  const lines: string[] = [];
  const withHeap = soak.intervals.some((i) => i.heapUsedMb !== undefined);
  lines.push(
    `Soak: ${minutesText(soak.minutes)} min of mixed load on one Postern process — ${SOAK_SCENARIOS.map((s) => (s === 'flow' ? `code flows ×${soak.flows}` : `${s} c=${soak.connections}`)).join(', ')}; ` +
      `RSS from /proc every second${withHeap ? ', V8 heap from bench/memory-probe.ts' : ''}. Reference point (t = ${fmt(soak.reference.t, 1)} s): ${soak.reference.why}.`,
  );
  lines.push('');
  const head = ['min', 'RSS MB', 'RSS min–max MB', ...(withHeap ? ['heap total MB', 'heap used MB', 'heap used min MB'] : []), 'server CPU %', ...SOAK_SCENARIOS.map((s) => SHORT_LABELS[s]), 'errors'];
  lines.push(`| ${head.join(' | ')} |`);
  lines.push(`|${head.map((_, i) => (i === 0 ? '---' : '--:')).join('|')}|`);
  for (const interval of soak.intervals) {
    const cells = [
      `${minutesText(round1(interval.from / 60))}–${minutesText(Math.round((interval.to / 60) * 100) / 100)}`,
      fmt(interval.rssMb, 1),
      `${fmt(interval.rssMinMb, 1)}–${fmt(interval.rssMaxMb, 1)}`,
      ...(withHeap
        ? [interval.heapTotalMb, interval.heapUsedMb, interval.heapUsedMinMb].map((value) => (value !== undefined ? fmt(value, 1) : ''))
        : []),
      fmt(interval.serverCpuPercent),
      ...SOAK_SCENARIOS.map((s) => fmt(interval.rates[s] ?? 0, s === 'flow' ? 1 : 0)),
      String(interval.errors),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  lines.push('');
  lines.push('| scenario | c | requests | req/s | p50 ms | p99 ms | errors | check |');
  lines.push('|---|--:|--:|--:|--:|--:|--:|---|');
  for (const s of soak.scenarios) {
    const rate = s.failure ? 'FAILED' : `${fmt(s.rate, s.rate < 100 ? 1 : 0)}${s.scenario === 'flow' ? ' flows' : ''}`;
    const pool = s.pool ? `pool ${s.pool.before} → ${s.pool.after}${s.pool.exhausted ? ' EXHAUSTED' : ''}` : '';
    const note = (s.failure ?? [s.check, pool, s.notes?.join(' / ')].filter(Boolean).join('; ')).replaceAll('|', '/');
    lines.push(`| ${SCENARIO_LABELS[s.scenario]} | ${s.connections} | ${fmt(s.completed)} | ${rate} | ${fmt(s.latencyMs.p50, 1)} | ${fmt(s.latencyMs.p99, 1)} | ${s.errors} | ${note} |`);
  }
  lines.push('');
  lines.push(`| RSS MB idle | after preparation | at ${fmt(soak.reference.t, 0)} s (reference) | at end (${fmt(soak.end.t, 0)} s) | peak (VmHWM) |${withHeap ? ' heap used MB reference → end |' : ''} server CPU % | PG CPU % | errors |`);
  lines.push(`|--:|--:|--:|--:|--:|${withHeap ? '--:|' : ''}--:|--:|--:|`);
  const heapCell = withHeap ? ` ${soak.reference.heapUsedMb !== undefined ? fmt(soak.reference.heapUsedMb, 1) : '?'} → ${soak.end.heapUsedMb !== undefined ? fmt(soak.end.heapUsedMb, 1) : '?'} |` : '';
  lines.push(
    `| ${fmt(soak.idleRssMb, 1)} | ${fmt(soak.preparedRssMb, 1)} | ${fmt(soak.reference.rssMb, 1)} | ${fmt(soak.end.rssMb, 1)} | ${fmt(soak.peakRssMb, 1)} |${heapCell} ${fmt(soak.serverCpuPercent)} | ${fmt(soak.databaseCpuPercent)} | ${soak.errors} |`,
  );
  lines.push('');
  lines.push('| server | target | goal | got | |');
  lines.push('|---|---|---|---|---|');
  const c = soak.check;
  lines.push(`| ${c.target} | ${c.what} | ${c.goal} | ${c.got} | ${c.ok ? 'ok' : 'MISSED'} |`);
  return lines.join('\n');
}
