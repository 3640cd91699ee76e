import { EventEmitter } from 'node:events';
import type { AuditLog } from '../domain/audit.ts';
import type { LogoutDeliveries, LogoutDelivery } from '../domain/logout-deliveries.ts';
import type { Logger } from '../logger.ts';
import { logOutage } from '../store/outage-log.ts';
import { StorageUnavailable } from '../store/unavailable.ts';
import type { LogoutTokenClaims } from './logout-token.ts';
import { DeliveryFailed, postLogoutToken } from './post-logout-token.ts';

export interface LogoutRetryPolicy {
  /** seconds before the first retry; each later one waits twice as long, at most an hour */
  retryBaseSeconds: number;
  /** attempts in all before a delivery is `failed` */
  maxAttempts: number;
  /** seconds after the session ended beyond which no attempt is made */
  maxAgeSeconds: number;
  /** seconds one attempt may take */
  timeoutSeconds: number;
  /** seconds between looks for due deliveries (other processes' notices, retries) */
  pollSeconds: number;
}

export type DeliveryOutcome = 'delivered' | 'retrying' | 'failed';

export interface DeliveryOutcomeEvent {
  outcome: DeliveryOutcome;
  clientId: string;
  attempts: number;
}

export interface LogoutDeliveryWorkerOptions {
  deliveries: LogoutDeliveries;
  audit: AuditLog;
  sign: (claims: LogoutTokenClaims) => Promise<string>;
  retry: LogoutRetryPolicy;
  logger: Logger;
}

const MAX_DELAY_MS = 3600_000;
const BATCH = 20;
// attempts in flight at once: each ends with two writes, and the pool serves the requests too
const CONCURRENCY = 4;

/** How long to wait before the attempt after `attempts` failed ones; undefined: give up. */
export function retryDelayMs(delivery: Pick<LogoutDelivery, 'attempts' | 'queuedAt'>, policy: LogoutRetryPolicy, now = Date.now()): number | undefined {
  if (delivery.attempts >= policy.maxAttempts) return undefined;
  const delay = Math.min(policy.retryBaseSeconds * 1000 * 2 ** (delivery.attempts - 1), MAX_DELAY_MS);
  if (now + delay > delivery.queuedAt.getTime() + policy.maxAgeSeconds * 1000) return undefined;
  return delay;
}

/**
 * Works the queue of Back-Channel Logout deliveries in this process: takes due rows (skipping
 * those another instance holds), signs and POSTs each logout token, records the outcome, and
 * audits `logout.delivered` / `logout.failed`. Emits `outcome` for each attempt (for metrics).
 */
export class LogoutDeliveryWorker extends EventEmitter<{ outcome: [DeliveryOutcomeEvent] }> {
  readonly #options: LogoutDeliveryWorkerOptions;
  #running: Promise<void> | undefined;
  #stopped = true;
  #wake: (() => void) | undefined;
  #woken = false;
  #unsubscribe: (() => void) | undefined;

  constructor(options: LogoutDeliveryWorkerOptions) {
    super();
    this.#options = options;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#unsubscribe = this.#options.deliveries.onQueued(() => this.wake());
    this.#running = this.#loop();
  }

  /** Looks for due deliveries now instead of at the next poll. */
  wake(): void {
    this.#woken = true;
    this.#wake?.();
  }

  /** Lets the attempts in flight finish, then stops. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#wake?.();
    await this.#running;
  }

  async #loop(): Promise<void> {
    const { deliveries, retry, logger } = this.#options;
    const leaseMs = retry.timeoutSeconds * 1000 + 30_000;
    while (!this.#stopped) {
      this.#woken = false;
      let claimed: LogoutDelivery[] = [];
      try {
        claimed = await deliveries.claimDue(BATCH, leaseMs);
        const queue = [...claimed];
        const lane = async () => {
          for (let next = queue.shift(); next; next = queue.shift()) await this.#attempt(next);
        };
        await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, lane));
      } catch (error) {
        if (error instanceof StorageUnavailable) logOutage(logger, error);
        else logger.warn({ err: error }, 'back-channel logout deliveries could not be worked; trying again at the next poll');
        claimed = [];
      }
      if (claimed.length === BATCH || this.#stopped) continue;
      if (!this.#woken) await this.#sleep(retry.pollSeconds * 1000);
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = undefined;
        done();
      };
    });
  }

  async #attempt(delivery: LogoutDelivery): Promise<void> {
    const { deliveries, audit, sign, retry, logger } = this.#options;
    const log = logger.child({ deliveryId: delivery.id, clientId: delivery.clientId, attempts: delivery.attempts });
    let error: string;
    try {
      const token = await sign({ clientId: delivery.clientId, sub: delivery.sub, sid: delivery.sid, jti: delivery.jti });
      await postLogoutToken(delivery.uri, token, retry.timeoutSeconds * 1000);
      await deliveries.markDelivered(delivery.id);
      log.info('back-channel logout delivered');
      this.#emit('delivered', delivery);
      await audit.record({
        type: 'logout.delivered',
        accountId: delivery.sub,
        clientId: delivery.clientId,
        details: { deliveryId: delivery.id, sid: delivery.sid, reason: delivery.reason, attempts: delivery.attempts },
      });
      return;
    } catch (failure) {
      if (!(failure instanceof DeliveryFailed)) throw failure;
      error = failure.message;
    }
    const retryIn = retryDelayMs(delivery, retry);
    await deliveries.markAttemptFailed(delivery.id, error, retryIn);
    if (retryIn !== undefined) {
      log.info({ error, retryInMs: retryIn }, 'back-channel logout not delivered; will retry');
      this.#emit('retrying', delivery);
      return;
    }
    log.warn({ error }, 'back-channel logout failed: giving up');
    this.#emit('failed', delivery);
    await audit.record({
      type: 'logout.failed',
      accountId: delivery.sub,
      clientId: delivery.clientId,
      details: { deliveryId: delivery.id, sid: delivery.sid, reason: delivery.reason, attempts: delivery.attempts, error },
    });
  }

  #emit(outcome: DeliveryOutcome, delivery: LogoutDelivery): void {
    this.emit('outcome', { outcome, clientId: delivery.clientId, attempts: delivery.attempts });
  }
}
