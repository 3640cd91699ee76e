import cluster from 'node:cluster';
import { ConfigError, loadConfig, withArguments, type Config } from './config.ts';
import { createLogger, type Logger } from './logger.ts';
import { startServer } from './server.ts';
import { isWorkerCommand, superviseWorkers } from './workers.ts';

async function main(): Promise<void> {
  const config = loadConfig(withArguments(process.env, process.argv.slice(2)));
  const logger = createLogger(config.logLevel);
  if (config.workers > 1 && cluster.isPrimary) return superviseWorkers(config.workers, logger);
  await serve(config, cluster.isWorker ? logger.child({ worker: cluster.worker!.id }) : logger);
}

async function serve(config: Readonly<Config>, logger: Logger): Promise<void> {
  const { otlpEndpoint, serviceName } = config.observability;
  // loaded only when asked for: without an endpoint, tracing costs nothing, not even its import
  const tracing = otlpEndpoint ? (await import('./metrics/tracing.ts')).startTracing({ serviceName, endpoint: otlpEndpoint }) : undefined;
  const server = await startServer(config, logger);

  let stopping = false;
  const stop = (signal: string, options: { now?: boolean } = {}) => {
    if (stopping) {
      // a worker hears a signal sent to the whole process group and the same one from its
      // primary: only the primary's "now" cuts a worker's drain short
      if (cluster.isWorker && !options.now) return;
      // a second signal: the operator does not want to wait for the drain
      logger.warn({ signal }, 'stopping at once');
      process.exit(1);
    }
    stopping = true;
    // an orchestrator's SIGTERM: announce not-ready first; Ctrl-C (SIGINT) stops accepting at once
    const announceSeconds = signal === 'SIGTERM' ? config.resilience.shutdownDelaySeconds : 0;
    logger.info({ signal, announceSeconds, timeoutSeconds: config.resilience.shutdownTimeoutSeconds }, 'draining: finishing in-flight requests');
    server.close({ announceSeconds }).then(
      async ({ cut }) => {
        if (cut > 0) logger.warn({ cut }, 'shutdown timeout reached: requests still running were cut');
        await tracing?.shutdown().catch((error: unknown) => logger.warn({ err: error }, 'could not send the last traces'));
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('message', (message) => {
    if (isWorkerCommand(message)) stop(message.signal, { now: message.postern === 'stop-now' });
  });
}

main().catch((error: unknown) => {
  // startup errors are one actionable line, not a stack trace
  const message = error instanceof ConfigError ? error.message : `startup failed: ${error instanceof Error ? error.message : String(error)}`;
  process.stderr.write(`postern: ${message}\n`);
  process.exit(1);
});
