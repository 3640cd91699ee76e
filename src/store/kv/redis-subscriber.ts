import { Redis } from 'ioredis';
import { StorageUnavailable } from '../unavailable.ts';
import type { SubscriptionListener } from './kv-store.ts';

export interface RedisSubscriberOptions {
  /** ms between pings that find a connection that died without closing; default 5000 */
  heartbeatMs?: number;
}

/** ms before a connection that gave up is replaced (no busy loop while every node is away) */
const REPLACE_DELAY_MS = 250;

interface Channel {
  listeners: Set<SubscriptionListener>;
  /** settles when Redis has confirmed the subscription */
  subscribed: Promise<void>;
}

/**
 * The receiving side of pub/sub on Redis: a connection of its own, since a subscribed connection
 * can do nothing else. ioredis reconnects by itself; the channels are subscribed again here (not
 * by ioredis's autoResubscribe) so that listeners learn when the subscription is back, not merely
 * the socket. A heartbeat finds a connection that died silently (a partition, a failover) and
 * has it reconnect. Nothing here throws into ioredis's event loop.
 */
export class RedisSubscriber {
  readonly #open: () => Redis;
  #redis: Redis;
  readonly #channels = new Map<string, Channel>();
  readonly #heartbeat: NodeJS.Timeout;
  #connecting: Promise<void> | undefined;
  /** the connection was lost since the channels were last (re)subscribed */
  #interrupted = false;
  #closed = false;

  /** `open` makes a new, unconnected connection each time it is called (redis-connection.ts) */
  constructor(open: () => Redis, options: RedisSubscriberOptions = {}) {
    this.#open = open;
    this.#redis = this.#attach(open());
    this.#heartbeat = setInterval(() => this.#beat(), options.heartbeatMs ?? 5000);
    this.#heartbeat.unref();
  }

  #attach(redis: Redis): Redis {
    redis.on('error', () => {});
    redis.on('message', (channel: string, message: string) => this.#tell(this.#channels.get(channel)?.listeners, (listener) => listener.message(message)));
    redis.on('close', () => redis === this.#redis && this.#lost());
    redis.on('ready', () => redis === this.#redis && void this.#resubscribe());
    // a connection that gave up reconnecting (a Cluster node that stays away): the next one takes over
    redis.on('end', () => redis === this.#redis && this.#replace());
    return redis;
  }

  #replace(): void {
    if (this.#closed || this.#connecting === undefined) return;
    this.#lost();
    const next = this.#attach(this.#open());
    this.#redis = next;
    setTimeout(() => {
      if (this.#closed || next !== this.#redis) return;
      next.connect().catch(() => {
        // its retry strategy goes on, or it ends and the next one is tried
      });
    }, REPLACE_DELAY_MS).unref();
  }

  async subscribe(channel: string, listener: SubscriptionListener): Promise<() => Promise<void>> {
    if (this.#closed) throw new StorageUnavailable('kv');
    await this.#connect();
    // an object of its own, so that one listener subscribed twice is removed once per call
    const subscription: SubscriptionListener = {
      message: (message) => listener.message(message),
      interrupted: () => listener.interrupted(),
      resumed: () => listener.resumed(),
    };
    let known = this.#channels.get(channel);
    if (!known) {
      const subscribed = this.#redis.subscribe(channel).then(() => {});
      known = { listeners: new Set(), subscribed };
      this.#channels.set(channel, known);
      subscribed.catch(() => {
        if (this.#channels.get(channel) === known) this.#channels.delete(channel);
      });
    }
    try {
      await known.subscribed;
    } catch (error) {
      throw new StorageUnavailable('kv', error);
    }
    known.listeners.add(subscription);
    const { listeners } = known;
    return async () => {
      listeners.delete(subscription);
      if (listeners.size > 0 || this.#channels.get(channel) !== known) return;
      this.#channels.delete(channel);
      await this.#redis.unsubscribe(channel).catch(() => {});
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#heartbeat);
    this.#channels.clear();
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }

  async #connect(): Promise<void> {
    const redis = this.#redis;
    this.#connecting ??= redis.connect().catch((error: unknown) => {
      this.#connecting = undefined;
      // no background reconnection for a connection that never came up: the caller is told, and
      // the next call starts afresh (on a Cluster, with the next node)
      redis.disconnect();
      if (redis === this.#redis && !this.#closed) this.#redis = this.#attach(this.#open());
      throw new StorageUnavailable('kv', error);
    });
    await this.#connecting;
  }

  #lost(): void {
    if (this.#closed || this.#interrupted || this.#connecting === undefined) return;
    this.#interrupted = true;
    this.#tell(this.#allListeners(), (listener) => listener.interrupted());
  }

  async #resubscribe(): Promise<void> {
    if (this.#closed || !this.#interrupted) return;
    const channels = [...this.#channels.keys()];
    try {
      if (channels.length > 0) await this.#redis.subscribe(...channels);
    } catch {
      // not subscribed on this connection: a new one tries again
      if (!this.#closed && this.#redis.status === 'ready') this.#redis.disconnect(true);
      return;
    }
    // lost again while subscribing: the next 'ready' tries again
    if (this.#closed || this.#redis.status !== 'ready') return;
    this.#interrupted = false;
    this.#tell(this.#allListeners(), (listener) => listener.resumed());
  }

  #beat(): void {
    if (this.#closed || this.#channels.size === 0 || this.#redis.status !== 'ready') return;
    this.#redis.ping().catch(() => {
      if (!this.#closed && this.#redis.status === 'ready') this.#redis.disconnect(true);
    });
  }

  #allListeners(): SubscriptionListener[] {
    return [...this.#channels.values()].flatMap((channel) => [...channel.listeners]);
  }

  #tell(listeners: Iterable<SubscriptionListener> | undefined, call: (listener: SubscriptionListener) => void): void {
    for (const listener of [...(listeners ?? [])]) {
      try {
        call(listener);
      } catch {
        // a listener's failure is its own: the connection and the other listeners go on
      }
    }
  }
}
