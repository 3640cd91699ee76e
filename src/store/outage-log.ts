import type { Logger } from 'pino';
import type { StorageUnavailable } from './unavailable.ts';

const INTERVAL_MS = 5000;

/**
 * An outage fails every request that needs the tier, hundreds a second: logged at warn, one line
 * per tier at most every five seconds, with the driver's error and code and how many failures the
 * line stands for. Each request still has its access-log line with status 503.
 */
export function createOutageLog(interval = INTERVAL_MS): (log: Logger, error: StorageUnavailable) => void {
  const last = new Map<string, { at: number; unlogged: number }>();
  return (log, error) => {
    const now = Date.now();
    const seen = last.get(error.tier);
    if (seen && now - seen.at < interval) {
      seen.unlogged += 1;
      return;
    }
    last.set(error.tier, { at: now, unlogged: 0 });
    log.warn({ err: error.cause ?? error, tier: error.tier, code: error.code, unloggedSince: seen?.unlogged ?? 0 }, 'storage unavailable: answering 503');
  };
}

/** The process's one outage log, shared by the engine's events and Postern's own error handler. */
export const logOutage = createOutageLog();
