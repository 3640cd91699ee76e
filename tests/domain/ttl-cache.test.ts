import { afterEach, describe, expect, it, vi } from 'vitest';
import { TtlCache } from '../../src/domain/ttl-cache.ts';

describe('TtlCache', () => {
  afterEach(() => vi.useRealTimers());

  it('loads once within the ttl and again after it', async () => {
    vi.useFakeTimers();
    const cache = new TtlCache<number>(1000);
    const load = vi.fn(async () => 7);
    expect(await cache.get('k', load)).toBe(7);
    expect(await cache.get('k', load)).toBe(7);
    expect(load).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1001);
    await cache.get('k', load);
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('shares a load in flight', async () => {
    const cache = new TtlCache<number>(1000);
    let calls = 0;
    const load = () => new Promise<number>((resolve) => setTimeout(() => resolve(++calls), 10));
    const [a, b] = await Promise.all([cache.get('k', load), cache.get('k', load)]);
    expect([a, b, calls]).toEqual([1, 1, 1]);
  });

  it('does not keep a failed load', async () => {
    const cache = new TtlCache<number>(1000);
    await expect(cache.get('k', async () => { throw new Error('down'); })).rejects.toThrow('down');
    expect(await cache.get('k', async () => 2)).toBe(2);
  });

  it('forgets on delete and clear, and keeps nothing with a ttl of 0', async () => {
    const cache = new TtlCache<number>(1000);
    await cache.get('a', async () => 1);
    cache.delete('a');
    expect(await cache.get('a', async () => 2)).toBe(2);
    cache.clear();
    expect(await cache.get('a', async () => 3)).toBe(3);
    const off = new TtlCache<number>(0);
    await off.get('a', async () => 1);
    expect(await off.get('a', async () => 2)).toBe(2);
  });

  it('drops the oldest entry when full', async () => {
    const cache = new TtlCache<number>(1000, 2);
    await cache.get('a', async () => 1);
    await cache.get('b', async () => 2);
    await cache.get('c', async () => 3);
    expect(await cache.get('a', async () => 10)).toBe(10);
    expect(await cache.get('c', async () => 30)).toBe(3);
  });

  it('serves nothing while suspended, and starts empty when resumed', async () => {
    const cache = new TtlCache<number>(1000);
    await cache.get('a', async () => 1);
    cache.suspend();
    expect(await cache.get('a', async () => 2)).toBe(2);
    expect(await cache.get('a', async () => 3)).toBe(3);
    cache.resume();
    expect(await cache.get('a', async () => 4)).toBe(4);
    expect(await cache.get('a', async () => 5)).toBe(4);
  });
});
