import cluster, { type Worker } from 'node:cluster';
import type { Logger } from './logger.ts';

/** What the primary tells a worker over the IPC channel. */
export interface WorkerCommand {
  postern: 'stop' | 'stop-now';
  signal: string;
}

export function isWorkerCommand(value: unknown): value is WorkerCommand {
  const { postern, signal } = (value ?? {}) as Record<string, unknown>;
  return (postern === 'stop' || postern === 'stop-now') && typeof signal === 'string';
}

/** Longest wait before replacing a worker that keeps failing before it listens. */
const MAX_RESTART_DELAY_MS = 30_000;

/**
 * The primary of `--workers N`: forks N copies of this program, which share its port through
 * node:cluster, and does nothing else (no storage, no requests). The first worker starts alone,
 * since a first start creates the schema and the signing key; the others then start together.
 * A worker that exits while the primary is not stopping is replaced, later each time while
 * replacements fail before they listen. SIGTERM or SIGINT is passed on to every worker, which
 * drains as a single process would; a second signal stops them at once. The primary exits when
 * the last worker has, with status 1 if any of them failed to start or to drain.
 */
export async function superviseWorkers(count: number, logger: Logger): Promise<void> {
  let stopping = false;
  let failed = false;
  let quickFailures = 0;
  let anyListened = false;
  const live = new Set<Worker>();

  const exitWhenDone = () => {
    if (stopping && live.size === 0) {
      logger.info({ failed }, 'all workers stopped');
      process.exit(failed ? 1 : 0);
    }
  };

  const fork = (): Promise<boolean> => {
    const worker = cluster.fork();
    live.add(worker);
    return new Promise((resolve) => {
      let listened = false;
      worker.once('listening', () => {
        listened = true;
        anyListened = true;
        quickFailures = 0;
        resolve(true);
      });
      worker.once('exit', (code, signal) => {
        live.delete(worker);
        resolve(listened);
        // before any worker listened, the caller gives up instead
        if (stopping || !anyListened) {
          if (code !== 0) failed = true;
          return exitWhenDone();
        }
        if (!listened) quickFailures += 1;
        const delayMs = listened ? 0 : Math.min(500 * 2 ** quickFailures, MAX_RESTART_DELAY_MS);
        logger.error({ pid: worker.process.pid, code, signal, restartInMs: delayMs }, 'worker exited: starting another');
        setTimeout(() => {
          if (!stopping) void fork();
        }, delayMs);
      });
    });
  };

  const tell = (postern: WorkerCommand['postern'], signal: string) => {
    for (const worker of live) if (worker.isConnected()) worker.send({ postern, signal } satisfies WorkerCommand);
  };
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'stopping every worker at once');
      tell('stop-now', signal);
      return;
    }
    stopping = true;
    logger.info({ signal, workers: live.size }, 'stopping: every worker drains');
    tell('stop', signal);
    exitWhenDone();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  logger.info({ workers: count, pid: process.pid }, 'starting workers');
  if (!(await fork())) {
    // the first start failed (its error is in the log): more copies would fail the same way
    stopping = true;
    failed = true;
    exitWhenDone();
    return;
  }
  const rest = await Promise.all(Array.from({ length: count - 1 }, () => fork()));
  if (rest.every(Boolean)) logger.info({ workers: count }, 'all workers listening');
}
