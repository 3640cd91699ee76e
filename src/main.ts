import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { startServer } from './server.ts';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const { otlpEndpoint, serviceName } = config.observability;
  // loaded only when asked for: without an endpoint, tracing costs nothing, not even its import
  const tracing = otlpEndpoint ? (await import('./metrics/tracing.ts')).startTracing({ serviceName, endpoint: otlpEndpoint }) : undefined;
  const server = await startServer(config, logger);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
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
}

main().catch((error: unknown) => {
  // startup errors are one actionable line, not a stack trace
  const message = error instanceof ConfigError ? error.message : `startup failed: ${error instanceof Error ? error.message : String(error)}`;
  process.stderr.write(`postern: ${message}\n`);
  process.exit(1);
});
