import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { createOutageLog } from '../../src/store/outage-log.ts';
import { StorageUnavailable } from '../../src/store/unavailable.ts';
import { logLines } from '../support/log-capture.ts';

describe('outage log', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('writes one warn line per tier per interval, with the driver\'s code and how many failures it stands for', () => {
    const { lines, sink } = logLines();
    const log = createLogger('info', sink);
    const report = createOutageLog(5000);
    const refused = () => new StorageUnavailable('database', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
    for (let i = 0; i < 100; i += 1) report(log, refused());
    report(log, new StorageUnavailable('kv', new Error('Command timed out')));
    vi.advanceTimersByTime(5000);
    report(log, refused());
    const entries = lines.map((line) => JSON.parse(line) as { level: number; tier: string; code?: string; unloggedSince: number; err: { code?: string } });
    expect(entries.map(({ tier, unloggedSince }) => [tier, unloggedSince])).toEqual([['database', 0], ['kv', 0], ['database', 99]]);
    expect(entries.every(({ level }) => level === 40)).toBe(true);
    expect(entries[0]!.code).toBe('ECONNREFUSED');
    expect(entries[0]!.err.code).toBe('ECONNREFUSED');
  });
});
