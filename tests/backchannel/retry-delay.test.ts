import { describe, expect, it } from 'vitest';
import { retryDelayMs, type LogoutRetryPolicy } from '../../src/backchannel/worker.ts';

const POLICY: LogoutRetryPolicy = { retryBaseSeconds: 10, maxAttempts: 10, maxAgeSeconds: 86400, timeoutSeconds: 5, pollSeconds: 5 };
const NOW = Date.parse('2026-11-30T00:00:00Z');
const created = new Date(NOW);

describe('back-channel logout retry delays', () => {
  it('doubles from the base after each failed attempt, at most an hour', () => {
    const delays = [1, 2, 3, 4, 9].map((attempts) => retryDelayMs({ attempts, queuedAt: created }, POLICY, NOW));
    expect(delays).toEqual([10_000, 20_000, 40_000, 80_000, 2_560_000]);
    expect(retryDelayMs({ attempts: 9, queuedAt: created }, { ...POLICY, retryBaseSeconds: 3600 }, NOW)).toBe(3_600_000);
  });

  it('gives up after the last attempt, or when the next would come after the maximum age', () => {
    expect(retryDelayMs({ attempts: 10, queuedAt: created }, POLICY, NOW)).toBeUndefined();
    expect(retryDelayMs({ attempts: 3, queuedAt: created }, { ...POLICY, maxAttempts: 3 }, NOW)).toBeUndefined();
    expect(retryDelayMs({ attempts: 1, queuedAt: created }, POLICY, NOW + 86_395_000)).toBeUndefined();
    expect(retryDelayMs({ attempts: 1, queuedAt: created }, POLICY, NOW + 86_380_000)).toBe(10_000);
  });
});
