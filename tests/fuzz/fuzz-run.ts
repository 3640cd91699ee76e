import type { FuzzCase } from './cases.ts';
import { indexLog, judge, statusKey, type Result, type Rule, type Violation } from './judge.ts';
import type { LiveValues } from './live-values.ts';
import { exchange, header } from './raw-http.ts';
import { describeWire, toWire } from './wire.ts';

export interface RunOptions {
  seed: number;
  host: string;
  port: number;
  issuer: string;
  concurrency: number;
  batchSize: number;
  timeoutMs: number;
  live: LiveValues;
  /** the server's log so far (pino lines) */
  logLines: string[];
}

export interface RunOutcome {
  results: Result[];
  violations: Violation[];
  /** discovery checks between batches that did not answer 200 with the issuer */
  discoveryFailures: string[];
  /** error lines the server logged without a request id, and process-level errors during the run */
  strayErrors: string[];
  /** route → method → status → count */
  statistics: Map<string, Map<string, Map<string, number>>>;
  ms: number;
  /** requests the server logged that were not fuzz cases: setting up each batch (sign-ins, tokens, mailed links), discovery checks */
  setupRequests: number;
}

async function discoveryAnswers(issuer: string): Promise<string | undefined> {
  try {
    const response = await fetch(`${issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(10_000) });
    const body = (await response.json()) as { issuer?: string };
    return response.status === 200 && body.issuer === issuer ? undefined : `discovery answered ${response.status} ${JSON.stringify(body).slice(0, 200)}`;
  } catch (error) {
    return `discovery failed: ${(error as Error).message}`;
  }
}

/** Sends the cases in batches (fresh live values before each, a discovery check after each) and judges every answer. */
export async function runCases(cases: FuzzCase[], options: RunOptions): Promise<RunOutcome> {
  const started = performance.now();
  const results: Result[] = [];
  const discoveryFailures: string[] = [];
  const strayErrors: string[] = [];
  const onProcessError = (error: unknown) => strayErrors.push(`process: ${(error as Error)?.stack ?? String(error)}`);
  process.on('uncaughtException', onProcessError);
  process.on('unhandledRejection', onProcessError);
  try {
    for (let offset = 0; offset < cases.length; offset += options.batchSize) {
      const batch = cases.slice(offset, offset + options.batchSize);
      const before = performance.now();
      await options.live.refresh();
      const values = options.live.values;
      let next = 0;
      const worker = async () => {
        while (next < batch.length) {
          const fuzzCase = batch[next++]!;
          const wire = toWire(fuzzCase, options.seed, values);
          const timeout = fuzzCase.after === 'wait' ? options.timeoutMs : 3000;
          const outcome = await exchange(options.host, options.port, wire.raw, timeout);
          results.push({ fuzzCase, wire, outcome });
        }
      };
      await Promise.all(Array.from({ length: options.concurrency }, worker));
      const problem = await discoveryAnswers(options.issuer);
      if (problem) discoveryFailures.push(`after cases ${batch[0]!.id}–${batch.at(-1)!.id}: ${problem}`);
      if (process.env.FUZZ_VERBOSE) console.log(`batch ${batch[0]!.id}–${batch.at(-1)!.id}: ${Math.round(performance.now() - before)} ms`);
    }
    // answers to dropped connections are logged after the client has gone: give them a moment
    await new Promise((resolve) => setTimeout(resolve, 300));
    const finalCheck = await discoveryAnswers(options.issuer);
    if (finalCheck) discoveryFailures.push(`after the run: ${finalCheck}`);
  } finally {
    process.off('uncaughtException', onProcessError);
    process.off('unhandledRejection', onProcessError);
  }

  if (process.env.FUZZ_VERBOSE) {
    const slow = [...results].sort((a, b) => b.outcome.ms - a.outcome.ms).slice(0, 15);
    for (const { fuzzCase, outcome } of slow) console.log(`slow: case ${fuzzCase.id} ${outcome.ms} ms ${outcome.kind === 'response' ? outcome.response.status : outcome.reason} [${fuzzCase.category}] ${fuzzCase.method} ${fuzzCase.route} ${fuzzCase.label}`);
  }
  const { byRequest, unattributed, otherRequests } = indexLog(options.logLines, `fz-${options.seed}-`);
  strayErrors.push(...unattributed);
  results.sort((a, b) => a.fuzzCase.id - b.fuzzCase.id);
  const violations: Violation[] = [];
  const statistics = new Map<string, Map<string, Map<string, number>>>();
  for (const result of results) {
    const server = byRequest.get(result.wire.requestId) ?? { errors: [] };
    violations.push(...judge(result, server));
    const route = result.fuzzCase.pathKind === 'unknown' ? '(unknown paths)' : result.fuzzCase.pathKind === 'variant' ? `${result.fuzzCase.route} (path variants)` : result.fuzzCase.route;
    const methods = statistics.get(route) ?? new Map<string, Map<string, number>>();
    statistics.set(route, methods);
    const method = /^[A-Z-]{1,20}$/.test(result.fuzzCase.method) ? result.fuzzCase.method : 'other';
    const statuses = methods.get(method) ?? new Map<string, number>();
    methods.set(method, statuses);
    const key = statusKey(result, server);
    statuses.set(key, (statuses.get(key) ?? 0) + 1);
  }
  return { results, violations, discoveryFailures, strayErrors, statistics, ms: Math.round(performance.now() - started), setupRequests: otherRequests };
}

export const RULES: Rule[] = ['status >= 500', 'no answer', 'error logged', 'unsupported method', 'not served', 'over-size body', 'error format'];

/** Violations of `rule` in groups that look like one failure each. */
function groupsOf(violations: Violation[], rule: Rule): Map<string, Violation[]> {
  const groups = new Map<string, Violation[]>();
  for (const violation of violations.filter((v) => v.rule === rule)) groups.set(violation.key, [...(groups.get(violation.key) ?? []), violation]);
  return groups;
}

const distinct = (items: string[], max = 12) => {
  const unique = [...new Set(items)];
  return unique.length > max ? `${unique.slice(0, max).join(', ')} and ${unique.length - max} more` : unique.join(', ');
};

/** One line per group of violations of `rule`: count, methods, routes and a first case. */
export function summarize(violations: Violation[], rule: Rule): string[] {
  return [...groupsOf(violations, rule)].map(
    ([key, group]) =>
      `${key} ×${group.length} — ${distinct(group.map((v) => v.method), 8)} on ${distinct(group.map((v) => v.route))} (e.g. case ${group[0]!.result.fuzzCase.id}: ${group[0]!.result.fuzzCase.label})`,
  );
}

/** The whole report: counts, statistics per endpoint, and every group of violations with examples. */
export function report(run: RunOutcome, options: { seed: number; backend: string; malformed: number; baseline: number }): string {
  const out: string[] = [];
  const requests = run.results.length;
  out.push(`fuzz on ${options.backend}: seed ${options.seed}, ${requests} requests (${options.malformed} malformed, ${options.baseline} valid baselines) in ${(run.ms / 1000).toFixed(1)} s, plus ${run.setupRequests} set-up requests`);
  out.push(`reproduce: FUZZ_SEED=${options.seed} FUZZ_ONLY=<case,case…> npx vitest run tests/fuzz/malformed-requests.test.ts`);
  out.push('', 'statuses per endpoint and method:');
  for (const [route, methods] of [...run.statistics].sort(([a], [b]) => a.localeCompare(b))) {
    const parts = [...methods].sort(([a], [b]) => a.localeCompare(b)).map(([method, statuses]) => `${method} ${[...statuses].sort(([a], [b]) => a.localeCompare(b)).map(([status, count]) => `${status}×${count}`).join(' ')}`);
    out.push(`  ${route}: ${parts.join(' | ')}`);
  }
  out.push('', `discovery after each batch: ${run.discoveryFailures.length === 0 ? 'always answered' : run.discoveryFailures.join('; ')}`);
  if (run.strayErrors.length > 0) out.push(`errors outside any request: ${run.strayErrors.slice(0, 10).join(' | ')}`);
  for (const rule of RULES) {
    const violations = run.violations.filter((v) => v.rule === rule);
    out.push('', `${rule}: ${violations.length === 0 ? 'none' : `${violations.length} responses`}`);
    for (const [key, group] of groupsOf(violations, rule)) {
      out.push(`  ${key} ×${group.length}: ${distinct(group.map((v) => v.method), 8)} on ${distinct(group.map((v) => v.route), 40)}`);
      // one example per route, at most four
      const examples = [...new Map(group.map((v) => [v.route, v])).values()].slice(0, 4);
      for (const example of examples) {
        const { fuzzCase, wire, outcome } = example.result;
        out.push(`    case ${fuzzCase.id} [${fuzzCase.category}] ${fuzzCase.label}`);
        out.push(`      request: ${describeWire(wire)}`);
        if (outcome.kind === 'response') {
          const type = header(outcome.response, 'content-type');
          const allow = header(outcome.response, 'allow');
          out.push(`      answer: ${outcome.response.status}${type ? ` ${type}` : ''}${allow !== undefined ? ` Allow: ${allow}` : ''} ${JSON.stringify(outcome.response.body.toString('utf8').replace(/\s+/g, ' ').slice(0, 240))}`);
        } else out.push(`      answer: none (${outcome.reason}: ${outcome.detail})`);
        if (example.server.status !== undefined || example.server.errors.length > 0) out.push(`      server log: status ${example.server.status ?? '-'}${example.server.errors.length > 0 ? `; ${example.server.errors.join(' | ').slice(0, 400)}` : ''}`);
      }
    }
  }
  return out.join('\n');
}
