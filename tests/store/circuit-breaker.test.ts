import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CircuitBreaker } from '../../src/store/circuit-breaker.ts';

describe('CircuitBreaker', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('lets calls through while closed', () => {
    const breaker = new CircuitBreaker(1000);
    expect(breaker.allow()).toBe(true);
    expect(breaker.allow()).toBe(true);
    expect(breaker.isOpen).toBe(false);
  });

  it('refuses calls for the cooldown after a failure, then lets exactly one probe through', () => {
    const breaker = new CircuitBreaker(1000);
    breaker.failed();
    expect(breaker.allow()).toBe(false);
    vi.advanceTimersByTime(999);
    expect(breaker.allow()).toBe(false);
    vi.advanceTimersByTime(1);
    expect(breaker.allow()).toBe(true);
    expect(breaker.allow()).toBe(false);
  });

  it('closes when the probe succeeds and reopens when it fails', () => {
    const breaker = new CircuitBreaker(1000);
    breaker.failed();
    vi.advanceTimersByTime(1000);
    expect(breaker.allow()).toBe(true);
    breaker.failed();
    expect(breaker.allow()).toBe(false);
    vi.advanceTimersByTime(1000);
    expect(breaker.allow()).toBe(true);
    breaker.succeeded();
    expect(breaker.isOpen).toBe(false);
    expect(breaker.allow()).toBe(true);
    expect(breaker.allow()).toBe(true);
  });
});
