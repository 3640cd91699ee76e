import type { KvStore } from '../store/kv/index.ts';

/** Who is entering user codes: the client's address (its /64 for IPv6) and, when it has one, its browser. */
export interface CodeEntrant {
  ip: string;
  /** a digest of the browser's session cookie; absent for a browser that has none yet */
  browser: string | undefined;
}

export interface GuardState {
  locked: boolean;
  /** seconds until every lock on the entrant ends (0 when not locked) */
  retryAfterSeconds: number;
}

export interface GuardPolicy {
  browserFailureThreshold: number;
  ipFailureThreshold: number;
  lockSeconds: number;
}

type Bucket = { scope: 'browser' | 'ip'; key: string; threshold: number };

export interface GuardFailure {
  /** this failure reached a threshold: the entrant is locked from now on */
  lockedNow: boolean;
  scope: 'browser' | 'ip' | undefined;
}

/**
 * Counts wrong user codes (RFC 8628 §5.1: a user code is short, so guessing must be limited) per
 * browser and per client IP. A browser or address that reaches its threshold within `lockSeconds`
 * may enter no code at all until its lock ends; the engine never looks a code up for it, so a lock
 * cannot be used to test guesses either.
 */
export class DeviceCodeGuard {
  readonly #kv: KvStore;
  readonly #policy: GuardPolicy;

  constructor(kv: KvStore, policy: GuardPolicy) {
    this.#kv = kv;
    this.#policy = policy;
  }

  #buckets(entrant: CodeEntrant): Bucket[] {
    const buckets: Bucket[] = [{ scope: 'ip', key: `devicecode:ip:${entrant.ip}`, threshold: this.#policy.ipFailureThreshold }];
    if (entrant.browser) buckets.unshift({ scope: 'browser', key: `devicecode:browser:${entrant.browser}`, threshold: this.#policy.browserFailureThreshold });
    return buckets;
  }

  async check(entrant: CodeEntrant): Promise<GuardState> {
    const until = await this.#kv.getMany(this.#buckets(entrant).map((bucket) => `${bucket.key}:lock`));
    const now = Date.now();
    const latest = Math.max(0, ...until.map((value) => Number(value ?? 0)));
    return latest > now ? { locked: true, retryAfterSeconds: Math.ceil((latest - now) / 1000) } : { locked: false, retryAfterSeconds: 0 };
  }

  async recordFailure(entrant: CodeEntrant): Promise<GuardFailure> {
    let outcome: GuardFailure = { lockedNow: false, scope: undefined };
    for (const bucket of this.#buckets(entrant)) {
      const { count } = await this.#kv.increment(bucket.key, this.#policy.lockSeconds);
      if (count !== bucket.threshold) continue;
      await this.#kv.set(`${bucket.key}:lock`, String(Date.now() + this.#policy.lockSeconds * 1000), this.#policy.lockSeconds);
      if (!outcome.lockedNow) outcome = { lockedNow: true, scope: bucket.scope };
    }
    return outcome;
  }
}
