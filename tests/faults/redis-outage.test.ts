import { describe, expect } from 'vitest';
import type { CaseReport } from './support/measure.ts';
import { announceSkip, exitedInstances, faultCase, now, print, runFault, useFaultCase, useOwnPostgres, type FaultCase } from './support/fault-case.ts';
import { sleep } from './support/processes.ts';

/**
 * "Nothing lost on a bad day": Redis (the ephemeral tier) misbehaves under load — stopped,
 * killed and restarted empty, refusing writes, flushed. The durable tier is intact throughout,
 * so no refresh-token chain may break; while Redis is out every request gets an answer within
 * 1 s, a success or 503 (no 500, no hang, no cut), and within 5 s of its return requests succeed
 * again.
 */

const OUTAGE_MS = 10_000;
const ANSWER_WITHIN_MS = 1_000;
const RECOVER_WITHIN_MS = 5_000;

const skipped = announceSkip('Redis outage');

function expectOutageTargets(report: CaseReport, c: FaultCase) {
  expect.soft(report.chains.broken, 'chains broken').toBe(0);
  expect.soft(report.chains.gaveUp, 'chains that gave up').toBe(0);
  expect.soft(report.during.slowestMs, `slowest answer during the outage (${report.during.slowest})`).toBeLessThanOrEqual(ANSWER_WITHIN_MS);
  expect.soft(report.during.unexpected, `answers during the outage other than 200 or 503 (first: ${report.during.firstUnexpected})`).toBe(0);
  expect.soft(report.recovery.ms, `recovery after Redis returned (last failure: ${report.recovery.lastFailure})`).toBeLessThanOrEqual(RECOVER_WITHIN_MS);
  for (const kind of ['refresh', 'client_credentials', 'introspection'] as const) expect.soft(report.recovery.okAfter[kind], `${kind} succeeds after recovery`).toBeGreaterThan(0);
  expect.soft(exitedInstances(c), 'no instance exited').toEqual([]);
}

describe.skipIf(skipped)('Redis lost under load', () => {
  const stage = useOwnPostgres();
  const t = useFaultCase(stage);

  faultCase('Redis stopped (SIGSTOP) for 10 s: fast answers, recovery within 5 s, no chain broken', { subset: true }, async () => {
    const c = t.current;
    const report = await runFault(c, 'Redis SIGSTOP for 10 s', async () => {
      const from = now();
      c.redis.pause();
      await sleep(OUTAGE_MS);
      c.redis.resume();
      return { from, to: now() };
    });
    print(report, c);
    expectOutageTargets(report, c);
  });

  faultCase('Redis killed and restarted empty on the same port after 10 s: fast answers, recovery within 5 s, no chain broken', { subset: false }, async () => {
    const c = t.current;
    const report = await runFault(c, 'Redis SIGKILL, restarted after 10 s', async () => {
      const from = now();
      await c.redis.kill();
      await sleep(OUTAGE_MS);
      await c.redis.start();
      return { from, to: now() };
    });
    print(report, c);
    expectOutageTargets(report, c);
  });

  faultCase('Redis refusing writes (maxmemory 1, noeviction) for 10 s: fast answers, recovery within 5 s, no chain broken', { subset: false }, async () => {
    const c = t.current;
    const report = await runFault(c, 'Redis refuses writes for 10 s', async () => {
      await c.redis.command('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
      const from = now();
      await c.redis.command('CONFIG', 'SET', 'maxmemory', '1');
      await sleep(OUTAGE_MS);
      await c.redis.command('CONFIG', 'SET', 'maxmemory', '0');
      return { from, to: now() };
    });
    print(report, c);
    expectOutageTargets(report, c);
  });

  faultCase('FLUSHALL under load: recovery within 5 s, no chain broken', { subset: false }, async () => {
    const c = t.current;
    const report = await runFault(c, 'Redis FLUSHALL', async () => {
      const from = now();
      await c.redis.command('FLUSHALL');
      return { from, to: now() };
    });
    print(report, c);
    expect.soft(report.chains.broken, 'chains broken').toBe(0);
    expect.soft(report.chains.gaveUp, 'chains that gave up').toBe(0);
    expect.soft(report.recovery.ms, `recovery after FLUSHALL (last failure: ${report.recovery.lastFailure})`).toBeLessThanOrEqual(RECOVER_WITHIN_MS);
    for (const kind of ['refresh', 'client_credentials', 'introspection'] as const) expect.soft(report.recovery.okAfter[kind], `${kind} succeeds after recovery`).toBeGreaterThan(0);
    expect.soft(exitedInstances(c), 'no instance exited').toEqual([]);
  });
});
