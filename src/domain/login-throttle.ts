import type { LockoutPolicy } from '../config.ts';
import type { KvStore } from '../store/kv/index.ts';
import { countLockout } from '../metrics/index.ts';

/** Who is trying: the account (when the login names one), the browser's device id for it, the client IP. */
export interface SignInAttempt {
  accountId: string | undefined;
  /** set when the browser presents a device cookie for a device the account still trusts (TrustedDevices) */
  deviceId: string | undefined;
  ip: string;
}

export interface ThrottleState {
  locked: boolean;
  /** seconds until the current wait ends (0 when not locked) */
  retryAfterSeconds: number;
}

export interface FailureOutcome {
  /** true when this failure started a wait (a lockout worth an audit event) */
  lockedNow: boolean;
  scope: 'account' | 'device' | 'ip' | undefined;
  waitSeconds: number;
}

type Bucket = { scope: 'account' | 'device' | 'ip'; key: string; threshold: number };

/**
 * Counts failed passwords and second-factor codes in the ephemeral tier and imposes growing waits
 * past a threshold: each failure past it adds `stepSeconds` to the wait, up to `maxSeconds`.
 *
 * A browser that has signed in to an account before holds a device cookie for it; while the
 * account still trusts that device, its failures are counted in a bucket of their own, and neither
 * the account-wide bucket nor the IP bucket holds it back. An attacker spraying guesses from many addresses can therefore lock the
 * account-wide bucket, but not the real user's browser.
 */
export class LoginThrottle {
  readonly #kv: KvStore;
  readonly #policy: LockoutPolicy;

  constructor(kv: KvStore, policy: LockoutPolicy) {
    this.#kv = kv;
    this.#policy = policy;
  }

  #buckets(attempt: SignInAttempt): Bucket[] {
    const { accountThreshold, ipThreshold } = this.#policy;
    if (attempt.accountId && attempt.deviceId) {
      return [{ scope: 'device', key: `throttle:device:${attempt.accountId}:${attempt.deviceId}`, threshold: accountThreshold }];
    }
    const buckets: Bucket[] = [{ scope: 'ip', key: `throttle:ip:${attempt.ip}`, threshold: ipThreshold }];
    if (attempt.accountId) buckets.unshift({ scope: 'account', key: `throttle:account:${attempt.accountId}`, threshold: accountThreshold });
    return buckets;
  }

  static #until(key: string) {
    return `${key}:until`;
  }

  async check(attempt: SignInAttempt): Promise<ThrottleState> {
    const buckets = this.#buckets(attempt);
    const until = await this.#kv.getMany(buckets.map((bucket) => LoginThrottle.#until(bucket.key)));
    const latest = Math.max(0, ...until.map((value) => Number(value ?? 0)));
    const remainingMs = latest - Date.now();
    return remainingMs > 0 ? { locked: true, retryAfterSeconds: Math.ceil(remainingMs / 1000) } : { locked: false, retryAfterSeconds: 0 };
  }

  async recordFailure(attempt: SignInAttempt): Promise<FailureOutcome> {
    const { stepSeconds, maxSeconds, windowSeconds } = this.#policy;
    let outcome: FailureOutcome = { lockedNow: false, scope: undefined, waitSeconds: 0 };
    for (const bucket of this.#buckets(attempt)) {
      const { count } = await this.#kv.increment(bucket.key, windowSeconds);
      if (count < bucket.threshold) continue;
      const waitSeconds = Math.min(stepSeconds * (count - bucket.threshold + 1), maxSeconds);
      await this.#kv.set(LoginThrottle.#until(bucket.key), String(Date.now() + waitSeconds * 1000), waitSeconds);
      countLockout(bucket.scope);
      if (waitSeconds > outcome.waitSeconds) outcome = { lockedNow: true, scope: bucket.scope, waitSeconds };
    }
    return outcome;
  }

  /**
   * An administrator lifts the account-wide wait and its count. A browser's own bucket (a device
   * the account trusts) clears when it next signs in; an address's bucket is not the account's.
   */
  async unlock(accountId: string): Promise<void> {
    const key = `throttle:account:${accountId}`;
    await this.#kv.del([key, LoginThrottle.#until(key)]);
  }

  /** A success clears the counters of the browser that succeeded, never the account-wide one. */
  async recordSuccess(attempt: SignInAttempt): Promise<void> {
    if (attempt.accountId && attempt.deviceId) {
      const key = `throttle:device:${attempt.accountId}:${attempt.deviceId}`;
      await this.#kv.del([key, LoginThrottle.#until(key)]);
    }
  }
}
