import type { JWK } from 'jose';
import type { Provider } from 'oidc-provider';
import { SIGNING_KEYS_CACHE, type SigningKeys } from '../domain/signing-keys.ts';
import type { Logger } from '../logger.ts';
import type { ProcessCaches } from '../store/process-caches.ts';
import type { SwappableEngine } from './engine-swap.ts';

export interface KeyMaintenanceOptions {
  signingKeys: SigningKeys;
  engine: SwappableEngine;
  /** a new engine with these keys (current first) */
  build(jwks: JWK[]): Provider;
  processCaches: ProcessCaches;
  /** seconds between looks at the schedule and the stored keys */
  checkIntervalSeconds: number;
  logger: Logger;
}

export interface KeyMaintenance {
  /** Reads the stored keys and swaps in an engine built on them if they differ from the running one's. */
  reload(): Promise<void>;
  /** Starts the periodic schedule check, the backstop to the announcements. */
  start(): void;
  stop(): void;
}

/**
 * Keeps this process's engine on the stored signing keys. A change made anywhere (another
 * instance's schedule, the CLI, this process) is announced on the cache invalidation channel and
 * picked up within moments; the periodic check catches what an interrupted channel missed, and
 * is also when this process runs the rotation schedule (of all instances, one rotates).
 */
export function createKeyMaintenance(options: KeyMaintenanceOptions): KeyMaintenance {
  const { signingKeys, engine, logger } = options;
  let reloading: Promise<void> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let checking = false;

  async function reloadOnce(): Promise<void> {
    const jwks = await signingKeys.privateJwks();
    const keyIds = jwks.map((jwk) => jwk.kid).join(' ');
    if (keyIds === engine.keyIds) return;
    engine.swap(options.build(jwks), jwks);
    logger.info({ signing: jwks[0]?.kid, published: jwks.map((jwk) => jwk.kid) }, 'signing keys changed: engine rebuilt');
  }

  function reload(): Promise<void> {
    // one reload at a time; a request for one meanwhile runs once more after it, reading anew
    if (reloading) {
      again = true;
      return reloading;
    }
    reloading = (async () => {
      do {
        again = false;
        await reloadOnce();
      } while (again);
    })().finally(() => {
      reloading = undefined;
    });
    return reloading;
  }

  const reloadInBackground = () => {
    reload().catch((error: unknown) => logger.warn({ err: error }, 'signing keys could not be reloaded: the periodic check tries again'));
  };
  options.processCaches.register(SIGNING_KEYS_CACHE, {
    delete: reloadInBackground,
    clear: reloadInBackground,
    // while the channel is down the periodic check is what notices changes
    suspend: () => undefined,
    resume: reloadInBackground,
  });

  async function check(): Promise<void> {
    if (checking) return;
    checking = true;
    try {
      const outcome = await signingKeys.checkSchedule();
      if (outcome.rotated) logger.info({ ...outcome.rotated }, 'signing key rotated on schedule');
      if (outcome.retired.length > 0) logger.info({ retired: outcome.retired }, 'previous signing keys retired: every token they signed has expired');
      await reload();
    } finally {
      checking = false;
    }
  }

  return {
    reload,
    start() {
      timer ??= setInterval(() => {
        check().catch((error: unknown) => logger.warn({ err: error }, 'signing key check failed: trying again at the next interval'));
      }, options.checkIntervalSeconds * 1000);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}
