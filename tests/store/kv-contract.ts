import { describe, expect, it } from 'vitest';
import { hashTag } from '../../src/store/kv/hash-tag.ts';
import type { KvStore, SubscriptionListener } from '../../src/store/kv/index.ts';
import { sleep, uniqueId } from '../support/adapter-backends.ts';

/** A listener that records what it is told. */
export function recorder(): SubscriptionListener & { messages: string[]; events: string[] } {
  const messages: string[] = [];
  const events: string[] = [];
  return {
    messages,
    events,
    message: (message) => void messages.push(message),
    interrupted: () => void events.push('interrupted'),
    resumed: () => void events.push('resumed'),
  };
}

/** Waits until `done` holds (pub/sub delivery is asynchronous on Redis), at most `ms`. */
export async function eventually(done: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await sleep(10);
  }
}

/**
 * The KvStore contract, written once and run over MemoryKv and RedisKv by kv-store.test.ts.
 * Keys are fresh per case; the cases that wait for an expiry run concurrently, so each
 * backend spends about one second waiting.
 */
export function kvContract(kv: () => KvStore): void {
  const key = uniqueId;
  /** a key and its claim marker, in one hash slot (as a Redis Cluster needs) */
  const claimPair = () => {
    const tag = hashTag(key('record'));
    return [`target:${tag}`, `target:${tag}:marker`] as const;
  };

  describe('get, getMany, set, del', () => {
    it('reads back what was set, undefined for what was not', async () => {
      const [a, b, missing] = [key('a'), key('b'), key('missing')];
      await kv().set(a, 'value a');
      await kv().set(b, 'välue b 🙂', 60);
      expect(await kv().get(a)).toBe('value a');
      expect(await kv().get(missing)).toBeUndefined();
      expect(await kv().getMany([a, missing, b])).toEqual(['value a', undefined, 'välue b 🙂']);
      expect(await kv().getMany([])).toEqual([]);
    });

    it('set overwrites and del removes values and sets', async () => {
      const [a, set] = [key('a'), key('set')];
      await kv().set(a, 'one');
      await kv().set(a, 'two');
      expect(await kv().get(a)).toBe('two');
      await kv().addToSet(set, 'member', 60);
      await kv().del([a, set, key('missing')]);
      await kv().del([]);
      expect(await kv().get(a)).toBeUndefined();
      expect(await kv().setMembers(set)).toEqual([]);
    });

    it('setIfAbsent sets only a missing key; of 10 concurrent callers one wins', async () => {
      const [a, b] = [key('a'), key('b')];
      await kv().set(a, 'first');
      expect(await kv().setIfAbsent(a, 'second', 60)).toBe(false);
      expect(await kv().get(a)).toBe('first');
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => kv().setIfAbsent(b, `caller ${i}`, 60)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await kv().get(b)).toBe(`caller ${results.indexOf(true)}`);
    });
  });

  describe('claim', () => {
    it('refuses a marker outside its key\'s hash slot, on every tier', async () => {
      const [target] = claimPair();
      await kv().set(target, 'x', 60);
      await expect(kv().claim(target, key('marker'), '1')).rejects.toThrow(TypeError);
      await expect(kv().claim(key('target'), key('marker'), '1')).rejects.toThrow(/hash tag/);
    });

    it("is 'missing' when the key does not exist, and leaves no marker", async () => {
      const [target, marker] = claimPair();
      expect(await kv().claim(target, marker, '1')).toBe('missing');
      expect(await kv().get(marker)).toBeUndefined();
      await kv().set(target, 'x', 60);
      expect(await kv().claim(target, marker, '2')).toBe('won');
    });

    it("is 'won' once, then 'lost', and keeps the winner's value", async () => {
      const [target, marker] = claimPair();
      await kv().set(target, 'x', 60);
      expect(await kv().claim(target, marker, 'first')).toBe('won');
      expect(await kv().claim(target, marker, 'second')).toBe('lost');
      expect(await kv().get(marker)).toBe('first');
    });

    it.each([
      ['a key with a TTL', 60],
      ['a key without expiry', undefined],
    ])('has exactly one winner among 20 concurrent callers on %s', async (_label, ttl) => {
      const [target, marker] = claimPair();
      await kv().set(target, 'x', ttl);
      const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => kv().claim(target, marker, String(i))));
      expect(outcomes.filter((outcome) => outcome === 'won')).toHaveLength(1);
      expect(outcomes.filter((outcome) => outcome === 'lost')).toHaveLength(19);
      expect(await kv().get(marker)).toBe(String(outcomes.indexOf('won')));
    });
  });

  describe('increment', () => {
    it('counts within one window that later hits do not extend', async () => {
      const counter = key('counter');
      expect(await kv().increment(counter, 60)).toEqual({ count: 1, ttlSeconds: 60 });
      const second = await kv().increment(counter, 3600);
      expect(second.count).toBe(2);
      expect(second.ttlSeconds).toBeGreaterThan(0);
      expect(second.ttlSeconds).toBeLessThanOrEqual(60);
      expect((await kv().increment(key('other'), 60)).count).toBe(1);
    });

    it('gives 20 concurrent hits the counts 1 to 20', async () => {
      const counter = key('counter');
      const results = await Promise.all(Array.from({ length: 20 }, () => kv().increment(counter, 60)));
      expect(results.map((result) => result.count).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    });
  });

  describe('addToSet and setMembers', () => {
    it('keeps each member once; an unknown set is empty', async () => {
      const set = key('set');
      await kv().addToSet(set, 'b', 60);
      await kv().addToSet(set, 'a', 60);
      await kv().addToSet(set, 'b', 60);
      expect((await kv().setMembers(set)).sort()).toEqual(['a', 'b']);
      expect(await kv().setMembers(key('missing'))).toEqual([]);
    });
  });

  describe.concurrent('expiry (real time, about 1.1 s)', () => {
    it('a value set with a TTL of 1 s is gone after 1.1 s', async () => {
      const [short, lasting] = [key('short'), key('lasting')];
      await kv().set(short, 'x', 1);
      await kv().set(lasting, 'y');
      await sleep(1100);
      expect(await kv().get(short)).toBeUndefined();
      expect(await kv().get(lasting)).toBe('y');
    });

    it('a claim marker expires with its key', async () => {
      const [target, marker] = claimPair();
      await kv().set(target, 'x', 1);
      expect(await kv().claim(target, marker, 'won')).toBe('won');
      await sleep(1100);
      expect(await kv().get(marker)).toBeUndefined();
      expect(await kv().claim(target, marker, 'again')).toBe('missing');
    });

    it('a counter starts again at 1 when its window has passed', async () => {
      const counter = key('counter');
      await kv().increment(counter, 1);
      expect((await kv().increment(counter, 1)).count).toBe(2);
      await sleep(1100);
      expect(await kv().increment(counter, 1)).toEqual({ count: 1, ttlSeconds: 1 });
    });

    it('adding to a set extends its TTL and never shortens it', async () => {
      const [extended, kept, lapsed] = [key('extended'), key('kept'), key('lapsed')];
      await kv().addToSet(extended, 'a', 1);
      await kv().addToSet(extended, 'b', 60);
      await kv().addToSet(kept, 'a', 60);
      await kv().addToSet(kept, 'b', 1);
      await kv().addToSet(lapsed, 'a', 1);
      await sleep(1100);
      expect((await kv().setMembers(extended)).sort()).toEqual(['a', 'b']);
      expect((await kv().setMembers(kept)).sort()).toEqual(['a', 'b']);
      expect(await kv().setMembers(lapsed)).toEqual([]);
    });
  });

  describe('publish and subscribe', () => {
    it('delivers what is published on a channel, in order, to every subscriber of it and to no other', async () => {
      const [channel, other] = [key('channel'), key('other')];
      const [first, second, elsewhere] = [recorder(), recorder(), recorder()];
      const stops = await Promise.all([kv().subscribe(channel, first), kv().subscribe(channel, second), kv().subscribe(other, elsewhere)]);
      await kv().publish(channel, 'one');
      await kv().publish(channel, 'twö 🙂');
      await eventually(() => first.messages.length === 2 && second.messages.length === 2);
      expect(first.messages).toEqual(['one', 'twö 🙂']);
      expect(second.messages).toEqual(['one', 'twö 🙂']);
      expect(elsewhere.messages).toEqual([]);
      await Promise.all(stops.map((stop) => stop()));
    });

    it('stops delivering to a listener once it unsubscribes, and goes on for the others', async () => {
      const channel = key('channel');
      const [leaving, staying] = [recorder(), recorder()];
      const stopLeaving = await kv().subscribe(channel, leaving);
      const stopStaying = await kv().subscribe(channel, staying);
      await stopLeaving();
      await kv().publish(channel, 'after');
      await eventually(() => staying.messages.length === 1);
      await kv().publish(channel, 'last');
      await eventually(() => staying.messages.length === 2);
      expect(leaving.messages).toEqual([]);
      await stopStaying();
      await kv().publish(channel, 'to nobody');
    });

    it('a listener that throws harms neither the publisher nor the other listeners', async () => {
      const channel = key('channel');
      const healthy = recorder();
      const stops = await Promise.all([
        kv().subscribe(channel, { message: () => { throw new Error('listener failure'); }, interrupted: () => {}, resumed: () => {} }),
        kv().subscribe(channel, healthy),
      ]);
      await kv().publish(channel, 'x');
      await kv().publish(channel, 'y');
      await eventually(() => healthy.messages.length === 2);
      await Promise.all(stops.map((stop) => stop()));
    });
  });
}
