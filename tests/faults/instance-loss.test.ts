import { describe, expect } from 'vitest';
import { announceSkip, faultCase, now, print, runFault, signalMidRefresh, useFaultCase, useOwnPostgres, type Signalled } from './support/fault-case.ts';

/**
 * "Nothing lost on a bad day": one of three instances dies (SIGKILL) or is stopped (SIGTERM)
 * while 20 refresh-token chains, client credentials and introspection run through the
 * round-robin proxy.
 */

const skipped = announceSkip('instance loss');

describe.skipIf(skipped)('an instance lost under load', () => {
  const stage = useOwnPostgres();
  const t = useFaultCase(stage);

  faultCase('SIGKILL of one instance in the middle of a refresh: no chain is broken', { subset: true }, async () => {
    const c = t.current;
    const victim = c.cluster.instances[0]!;
    let killed: Signalled | undefined;
    const report = await runFault(c, 'SIGKILL one of three instances', async () => {
      killed = await signalMidRefresh(c, victim, 'SIGKILL', 'answered');
      await victim.exited;
      return { from: killed.at, to: now() };
    });
    print(report, c, { 'at the kill': `${killed?.inflight} requests in flight on the victim, refreshes in flight for ${killed?.refreshAges.join(', ')} ms` });

    expect(killed?.inflight, 'harness: requests were in flight on the victim at the kill').toBeGreaterThan(0);
    expect.soft(report.chains.broken, 'chains broken').toBe(0);
    expect.soft(report.chains.gaveUp, 'chains that gave up').toBe(0);
    expect.soft(report.recovery.okAfter.refresh, 'refreshes succeed on the survivors').toBeGreaterThan(0);
  });

  faultCase('SIGTERM of one instance under load: nothing in flight is cut, exit 0, no chain is broken', { subset: true }, async () => {
    const c = t.current;
    const victim = c.cluster.instances[0]!;
    let signalled: Signalled | undefined;
    const report = await runFault(c, 'SIGTERM one of three instances', async () => {
      signalled = await signalMidRefresh(c, victim, 'SIGTERM', 'forwarded');
      // a graceful drain may take a while; 30 s is the bound of a typical orchestrator
      await Promise.race([victim.exited, new Promise((resolve) => setTimeout(resolve, 30_000))]);
      return { from: signalled.at, to: now() };
    });
    const cutByVictim = c.cluster.proxy.events.filter((event) => event.backend === victim.index && (event.kind === 'cut' || event.kind === 'truncated')).length;
    print(report, c, {
      'at SIGTERM': `${signalled?.inflight} requests in flight on the victim, refreshes in flight for ${signalled?.refreshAges.join(', ')} ms`,
      'victim exit': victim.exit ? `code ${victim.exit.code} signal ${victim.exit.signal} ${Math.round(victim.exit.at - signalled!.at)} ms after SIGTERM` : 'still running after 30 s',
      'requests the victim cut (proxy)': cutByVictim,
    });

    expect(signalled?.inflight, 'harness: requests were in flight on the victim at SIGTERM').toBeGreaterThan(0);
    expect.soft(report.cut, 'requests cut (reset / hang-up seen by the driver)').toBe(0);
    expect.soft(cutByVictim, 'requests the victim dropped after accepting them').toBe(0);
    expect.soft(victim.exit?.code, 'the victim exits 0').toBe(0);
    expect.soft(report.chains.broken, 'chains broken').toBe(0);
    expect.soft(report.chains.gaveUp, 'chains that gave up').toBe(0);
  });
});
