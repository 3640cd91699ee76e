import type { LoadDriver, RequestKind, RequestRecord } from './load-driver.ts';
import type { ProxyEvent } from './proxy.ts';

/** The figures each fault case asserts on, computed from the driver's records. */

export interface FaultWindow {
  /** when the fault began (ms, shared clock) */
  from: number;
  /** when it was undone: the service is back (Redis answering, PostgreSQL accepting) */
  to: number;
}

export interface CaseReport {
  name: string;
  requests: { total: number; ok: number; byKind: Record<RequestKind, { total: number; ok: number }> };
  chains: { total: number; rotations: number; broken: number; gaveUp: number; details: string[] };
  /** requests overlapping the fault window */
  during: {
    windowMs: number;
    requests: number;
    failed: number;
    slowestMs: number;
    slowest: string;
    overOneSecond: number;
    answers: Record<string, number>;
    /** answers during the fault and the 5 s after that are neither a success nor 503 (the one failure a client is told to retry) */
    unexpected: number;
    firstUnexpected: string;
  };
  /** after the fault was undone: when the last failure ended, and successes since */
  recovery: { ms: number; lastFailure: string; okAfter: Record<RequestKind, number>; slowestNext5sMs: number; slowestNext5s: string };
  /** requests the driver saw cut: connection reset or hang-up */
  cut: number;
  /** introspections since the fault began that answered `active: false` (a token the server forgot) */
  inactive: number;
  /** how far the test process itself (driver and proxy) lagged: its event-loop delay, and the machine's load */
  harness: { loopDelayP99Ms: number; loopDelayMaxMs: number; loadAverage: number };
  proxy: Record<ProxyEvent['kind'], number>;
}

const KINDS: RequestKind[] = ['refresh', 'client_credentials', 'introspection'];
const end = (record: RequestRecord) => record.start + record.duration;
const ok = (record: RequestRecord) => record.status === 200;

function describe(record: RequestRecord | undefined, origin: number): string {
  if (!record) return '-';
  const answer = record.status === 0 ? record.error : `${record.status}${record.error ? ` ${record.error}` : ''}`;
  return `${record.kind}${record.chain >= 0 ? `#${record.chain}` : ''} at +${Math.round(record.start - origin)} ms took ${Math.round(record.duration)} ms: ${answer}${record.detail ? ` (${record.detail.slice(0, 120)})` : ''}`;
}

export function measure(name: string, driver: LoadDriver, window: FaultWindow, proxyEvents: ProxyEvent[], harness: CaseReport['harness']): CaseReport {
  const load = driver.records.filter((record) => record.phase === 'load');
  const byKind = Object.fromEntries(
    KINDS.map((kind) => {
      const of = driver.records.filter((record) => record.kind === kind);
      return [kind, { total: of.length, ok: of.filter(ok).length }];
    }),
  ) as CaseReport['requests']['byKind'];

  const during = load.filter((record) => record.start <= window.to && end(record) >= window.from);
  const slowest = during.reduce<RequestRecord | undefined>((worst, record) => (!worst || record.duration > worst.duration ? record : worst), undefined);
  const unexpected = load.filter((record) => record.start <= window.to + 5_000 && end(record) >= window.from && !ok(record) && record.status !== 503);
  const answers: Record<string, number> = {};
  for (const record of during) {
    const key = record.status === 0 ? String(record.error) : `${record.status}${record.error ? ` ${record.error}` : ''}`;
    answers[key] = (answers[key] ?? 0) + 1;
  }

  const after = load.filter((record) => end(record) >= window.to);
  const lastFailure = after.filter((record) => !ok(record)).reduce<RequestRecord | undefined>((last, record) => (!last || end(record) > end(last) ? record : last), undefined);
  const recoveredAt = lastFailure ? end(lastFailure) : window.to;
  const next5s = load.filter((record) => record.start >= window.to && record.start <= window.to + 5_000);
  const slowestNext = next5s.reduce<RequestRecord | undefined>((worst, record) => (!worst || record.duration > worst.duration ? record : worst), undefined);
  const okAfter = Object.fromEntries(KINDS.map((kind) => [kind, after.filter((record) => record.kind === kind && ok(record) && record.start >= recoveredAt).length])) as Record<RequestKind, number>;

  const proxy = { refused: 0, cut: 0, truncated: 0, 'no-backend': 0, 'client-aborted': 0 };
  for (const event of proxyEvents) proxy[event.kind] += 1;

  return {
    name,
    requests: { total: driver.records.length, ok: driver.records.filter(ok).length, byKind },
    chains: {
      total: driver.chains.length,
      rotations: driver.chains.reduce((sum, chain) => sum + chain.rotations, 0),
      broken: driver.broken().length,
      gaveUp: driver.gaveUp().length,
      details: [
        ...driver.broken().map((chain) => `chain #${chain.index} broken at +${Math.round(chain.broken!.at - window.from)} ms after ${chain.rotations} rotations: ${chain.broken!.description}`),
        ...driver.gaveUp().map((chain) => `chain #${chain.index} gave up at +${Math.round(chain.gaveUp!.at - window.from)} ms: ${chain.gaveUp!.lastError}`),
      ],
    },
    during: {
      windowMs: Math.round(window.to - window.from),
      requests: during.length,
      failed: during.filter((record) => !ok(record)).length,
      slowestMs: Math.round(slowest?.duration ?? 0),
      slowest: describe(slowest, window.from),
      overOneSecond: during.filter((record) => record.duration > 1_000).length,
      answers,
      unexpected: unexpected.length,
      firstUnexpected: describe(unexpected[0], window.from),
    },
    recovery: {
      ms: Math.round(Math.max(0, recoveredAt - window.to)),
      lastFailure: describe(lastFailure, window.from),
      okAfter,
      slowestNext5sMs: Math.round(slowestNext?.duration ?? 0),
      slowestNext5s: describe(slowestNext, window.from),
    },
    cut: load.filter((record) => record.error === 'reset').length,
    inactive: load.filter((record) => record.kind === 'introspection' && record.active === false && record.start >= window.from).length,
    proxy,
    harness,
  };
}

/** A few readable lines for the test output: the numbers are the point of the suite. */
export function format(report: CaseReport, extra: Record<string, unknown> = {}): string {
  const kinds = KINDS.map((kind) => `${kind} ${report.requests.byKind[kind].ok}/${report.requests.byKind[kind].total}`).join(', ');
  return [
    `── ${report.name}`,
    `   requests ${report.requests.ok}/${report.requests.total} ok (${kinds})`,
    `   chains: ${report.chains.broken} broken, ${report.chains.gaveUp} gave up, of ${report.chains.total} (${report.chains.rotations} rotations)`,
    ...report.chains.details.slice(0, 5).map((line) => `     ${line}`),
    `   during the fault (${report.during.windowMs} ms): ${report.during.requests} requests, ${report.during.failed} failed, ${report.during.overOneSecond} took over 1 s, slowest ${report.during.slowestMs} ms — ${report.during.slowest}`,
    `     answers: ${JSON.stringify(report.during.answers)}; neither 200 nor 503 (till 5 s after): ${report.during.unexpected}${report.during.unexpected ? ` — first: ${report.during.firstUnexpected}` : ''}`,
    `   recovery: ${report.recovery.ms} ms after the fault ended; last failure: ${report.recovery.lastFailure}`,
    `     ok since: ${JSON.stringify(report.recovery.okAfter)}; slowest answer in the 5 s after: ${report.recovery.slowestNext5sMs} ms — ${report.recovery.slowestNext5s}`,
    `   cut requests seen by the driver: ${report.cut}; proxy: ${JSON.stringify(report.proxy)}`,
    `   introspections answered inactive since the fault: ${report.inactive}`,
    `   harness: event-loop delay p99 ${report.harness.loopDelayP99Ms} ms, max ${report.harness.loopDelayMaxMs} ms; machine load average ${report.harness.loadAverage}`,
    ...Object.entries(extra).map(([key, value]) => `   ${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`),
  ].join('\n');
}
