import type { KvStore } from './kv/index.ts';

/** The channel in the ephemeral tier on which writers name what they changed. */
const CHANNEL = 'cache-invalidation';

/** What a process-local cache offers in order to be kept coherent with the other processes. */
export interface LocalCache {
  delete(key: string): void;
  clear(): void;
  /** Serves nothing until `resume`: changes may go unannounced to this process meanwhile. */
  suspend(): void;
  /** Serves again, starting empty. */
  resume(): void;
}

export type ListeningState = 'interrupted' | 'resumed';

interface Notice {
  cache: string;
  /** the entries that changed; absent: all of them */
  keys?: string[];
}

function isNotice(value: unknown): value is Notice {
  if (typeof value !== 'object' || value === null) return false;
  const { cache, keys } = value as Record<string, unknown>;
  return typeof cache === 'string' && (keys === undefined || (Array.isArray(keys) && keys.every((key) => typeof key === 'string')));
}

/**
 * Process-local caches of rows read on every request (client and API registrations), kept
 * coherent across every process sharing the ephemeral tier. A writer names what it changes on a
 * pub/sub channel there, before and after its database write (so a writer that cannot reach the
 * channel changes nothing), and every listening process drops those entries when the message
 * arrives; no request waits on the channel. A cache serves entries only while its process
 * listens: before `listen`, in a process that never listens (the CLI) and while the subscription
 * is interrupted, every read goes to the database, and a resumed subscription starts from empty
 * caches. What no message can reach (a change announced while a connection was dying unnoticed)
 * is bounded by the caches' own lifetime.
 */
export class ProcessCaches {
  readonly #kv: KvStore;
  readonly #caches = new Map<string, LocalCache>();
  #listening = false;
  #listened = false;

  constructor(kv: KvStore) {
    this.#kv = kv;
  }

  /** Keeps `cache` coherent under `name`, the name its writers announce changes with. */
  register(name: string, cache: LocalCache): void {
    if (this.#caches.has(name)) throw new TypeError(`a process cache named ${name} is registered already`);
    this.#caches.set(name, cache);
    if (!this.#listening) cache.suspend();
  }

  /**
   * Subscribes to the channel; from then on the registered caches serve entries. `onState` hears
   * when the subscription is interrupted and when it is back.
   */
  async listen(onState?: (state: ListeningState) => void): Promise<void> {
    if (this.#listened) throw new TypeError('ProcessCaches.listen() was called already');
    this.#listened = true;
    await this.#kv.subscribe(CHANNEL, {
      message: (message) => this.#apply(message),
      interrupted: () => {
        this.#setListening(false);
        onState?.('interrupted');
      },
      resumed: () => {
        this.#setListening(true);
        onState?.('resumed');
      },
    });
    this.#setListening(true);
  }

  /**
   * Runs a database write that changes the entries `keys` (or every entry) of cache `name`,
   * announcing the change to every process before and after it. Throws StorageUnavailable, without
   * writing, when the ephemeral tier cannot be reached.
   */
  async changing<T>(name: string, keys: readonly string[] | 'all', write: () => Promise<T>): Promise<T> {
    await this.#announce(name, keys);
    const result = await write();
    await this.#announce(name, keys);
    return result;
  }

  async #announce(name: string, keys: readonly string[] | 'all'): Promise<void> {
    // this process at once, whether it listens or not
    this.#drop(name, keys);
    const notice: Notice = keys === 'all' ? { cache: name } : { cache: name, keys: [...keys] };
    await this.#kv.publish(CHANNEL, JSON.stringify(notice));
  }

  #apply(message: string): void {
    let notice: unknown;
    try {
      notice = JSON.parse(message);
    } catch {
      notice = undefined;
    }
    if (isNotice(notice)) {
      this.#drop(notice.cache, notice.keys ?? 'all');
      return;
    }
    // not ours to read (another version?): forgetting everything is always safe
    for (const cache of this.#caches.values()) cache.clear();
  }

  #drop(name: string, keys: readonly string[] | 'all'): void {
    const cache = this.#caches.get(name);
    if (!cache) return;
    if (keys === 'all') cache.clear();
    else for (const key of keys) cache.delete(key);
  }

  #setListening(listening: boolean): void {
    this.#listening = listening;
    for (const cache of this.#caches.values()) {
      if (listening) cache.resume();
      else cache.suspend();
    }
  }
}
