import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { availableBackends } from '../support/backends.ts';
import { logLines } from '../support/log-capture.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { generateCases } from './cases.ts';
import { report, runCases, summarize, type RunOutcome } from './fuzz-run.ts';
import { LiveValues } from './live-values.ts';

/**
 * Thousands of malformed requests to every endpoint and page of a running Postern (cases.ts),
 * sent over bare sockets and judged one by one (judge.ts), on every available backend. The report
 * printed for each backend gives the statuses seen per endpoint and every failure with its request.
 *
 * FUZZ_SEED picks the seed (printed in the report), FUZZ_CASES the number of cases, FUZZ_ONLY=12,345
 * sends only those cases (to reproduce a failure: they are rebuilt from the seed and their number),
 * FUZZ_REPORT=<file, %s for the backend> writes the report there too, FUZZ_VERBOSE=1 prints batch
 * timings and the slowest cases, FUZZ_CONCURRENCY and FUZZ_BATCH size the run.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261129);
const TOTAL = Number(process.env.FUZZ_CASES ?? 5400);
const ONLY = process.env.FUZZ_ONLY ? new Set(process.env.FUZZ_ONLY.split(',').map(Number)) : undefined;
const LIMIT_OFF = '1000000/1m';

// the engine prints its warnings as plain text (console.warn), once per process: caught for the whole file
const consoleWarnings: string[] = [];
beforeAll(() => {
  vi.spyOn(console, 'warn').mockImplementation((...parts: unknown[]) => {
    consoleWarnings.push(parts.map(String).join(' '));
  });
});

describe.each(availableBackends())('malformed requests on %s', (backend) => {
  const { lines, sink } = logLines();
  let server: TestServer;
  let outbox: string;
  let run: RunOutcome;

  beforeAll(async () => {
    outbox = await mkdtemp(join(tmpdir(), 'postern-fuzz-outbox-'));
    server = await startTestServer(
      backend,
      {
        POSTERN_REGISTRATION: 'true',
        POSTERN_MAIL_OUTBOX: outbox,
        // counted (the limiter runs on every request) but never reached: a 429 would hide what is behind it
        POSTERN_RATE_LIMIT_TOKEN: LIMIT_OFF,
        POSTERN_RATE_LIMIT_INTROSPECTION: LIMIT_OFF,
        POSTERN_RATE_LIMIT_REVOCATION: LIMIT_OFF,
        POSTERN_RATE_LIMIT_USERINFO: LIMIT_OFF,
        POSTERN_RATE_LIMIT_LOGIN: LIMIT_OFF,
        POSTERN_RATE_LIMIT_REGISTRATION: LIMIT_OFF,
        POSTERN_RATE_LIMIT_PASSWORD_RESET: LIMIT_OFF,
        // the cases post wrong passwords by the hundred; bob must still be able to sign in again
        POSTERN_LOCKOUT_THRESHOLD: '10000',
        POSTERN_LOCKOUT_IP_THRESHOLD: '1000000',
      },
      createLogger('info', sink),
    );
    const live = new LiveValues(server, outbox);
    await live.prepare();
    const { cases } = generateCases(SEED, TOTAL);
    const chosen = ONLY ? cases.filter((fuzzCase) => ONLY.has(fuzzCase.id)) : cases;
    run = await runCases(chosen, {
      seed: SEED,
      host: '127.0.0.1',
      port: server.port,
      issuer: server.issuer,
      concurrency: Number(process.env.FUZZ_CONCURRENCY ?? 6),
      batchSize: Number(process.env.FUZZ_BATCH ?? 600),
      timeoutMs: 10_000,
      live,
      logLines: lines,
    });
    const baseline = chosen.filter((fuzzCase) => fuzzCase.baseline).length;
    const text = report(run, { seed: SEED, backend, malformed: chosen.length - baseline, baseline });
    // the summary always; statuses per endpoint with FUZZ_VERBOSE (each failing test prints its own cases)
    console.log(process.env.FUZZ_VERBOSE ? text : text.split('\n').slice(0, 2).join('\n'));
    if (process.env.FUZZ_REPORT) await writeFile(process.env.FUZZ_REPORT.replace('%s', backend.replace('+', '-')), `${text}\n`);
  }, 300_000);

  afterAll(async () => {
    await server?.close();
    if (outbox) await rm(outbox, { recursive: true, force: true });
  });

  it(`sends at least 5,000 malformed requests (seed ${SEED})`, () => {
    if (ONLY) return;
    expect(run.results.filter((result) => !result.fuzzCase.baseline).length).toBeGreaterThanOrEqual(5000);
  });

  it('keeps answering discovery after every batch, and nothing fails outside a request', () => {
    expect(run.discoveryFailures).toEqual([]);
    expect(run.strayErrors).toEqual([]);
  });

  it('answers no request with a status of 500 or more, not even one whose client has gone', () => {
    expect(summarize(run.violations, 'status >= 500')).toEqual([]);
  });

  it('answers every request it was left to answer', () => {
    expect(summarize(run.violations, 'no answer')).toEqual([]);
  });

  it('logs no error for any of them', () => {
    expect(summarize(run.violations, 'error logged')).toEqual([]);
  });

  it('answers unsupported methods 405 with an Allow header', () => {
    expect(summarize(run.violations, 'unsupported method')).toEqual([]);
  });

  it('serves every method its endpoint is specified to serve', () => {
    expect(summarize(run.violations, 'not served')).toEqual([]);
  });

  it('answers over-size bodies 413', () => {
    expect(summarize(run.violations, 'over-size body')).toEqual([]);
  });

  it("answers errors in the endpoint's format: OAuth JSON on protocol endpoints, HTML on pages", () => {
    expect(summarize(run.violations, 'error format')).toEqual([]);
  });

  it('makes the engine print no plain-text warning (every line is JSON)', () => {
    expect(consoleWarnings).toEqual([]);
  });

  it('lets no parameter name reach Object.prototype', () => {
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});
