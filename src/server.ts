import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Provider } from 'oidc-provider';
import { createApp, type PosternApp } from './app.ts';
import type { LogoutDeliveryWorker } from './backchannel/worker.ts';
import type { Readiness } from './http/health.ts';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';
import { serveCommandSocket } from './cli/socket/serve.ts';
import { purgeExpiredPayloads } from './oidc/adapter/sql-model-store.ts';
import { sweepUnusedRegistrations } from './domain/registration-sweep.ts';
import { purgeExpiredAccountTokens } from './recovery/account-tokens.ts';
import { createServices, openStorage, type Services, type Storage } from './services.ts';
import { describeDatabase, databaseTarget } from './store/db.ts';
import { enableMetrics } from './metrics/index.ts';
import { listenForMetrics } from './http/metrics-endpoint.ts';

export interface RunningServer {
  url: string;
  port: number;
  storage: Storage;
  services: Services;
  /** the protocol engine serving new requests (rebuilt when the signing keys change) */
  readonly provider: Provider;
  /** the metrics listener's URL (POSTERN_METRICS_PORT), when there is one */
  metricsUrl: string | undefined;
  logoutWorker: LogoutDeliveryWorker;
  /**
   * Drains and stops: reports not ready — and with `announceSeconds`, goes on accepting for that
   * long, answering with `Connection: close`, so that a load balancer polling /readyz stops sending
   * before the listener closes (a connection the kernel already queued for a closed listener would
   * be reset) —, then accepts no new connections, lets every in-flight request
   * finish (at most POSTERN_SHUTDOWN_TIMEOUT; what is still running then is cut and counted),
   * closes idle keep-alive connections, then the storage pools.
   */
  close(options?: { announceSeconds?: number }): Promise<{ cut: number }>;
}

/** Delivered and failed Back-Channel Logout rows are kept this long for the record. */
const FINISHED_DELIVERIES_KEPT_SECONDS = 30 * 86400;

/** Counts requests between their arrival and the end of their response. */
function trackInFlight(server: Server): { count(): number; idle(): Promise<void> } {
  let inFlight = 0;
  let waiters: Array<() => void> = [];
  server.on('request', (_request, response) => {
    inFlight += 1;
    response.once('close', () => {
      inFlight -= 1;
      if (inFlight === 0) {
        for (const wake of waiters) wake();
        waiters = [];
      }
    });
  });
  return {
    count: () => inFlight,
    idle: () => (inFlight === 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve))),
  };
}

/** Opens storage, builds the app and listens. Used by `main.ts` and by the tests. */
export async function startServer(config: Readonly<Config>, logger: Logger): Promise<RunningServer> {
  const { metricsPort, metricsToken } = config.observability;
  // before storage opens, so its first calls are measured too
  const exposition = metricsPort !== undefined || metricsToken !== undefined ? await enableMetrics() : undefined;
  const storage = await openStorage(config);
  let server: Server | undefined;
  let metricsServer: Server | undefined;
  let services: Services;
  let built: PosternApp;
  let readiness: Readiness;
  let logoutWorker: LogoutDeliveryWorker;
  try {
    // before anything is read: registrations are cached only while changes can be heard
    await storage.processCaches.listen((state) => {
      if (state === 'interrupted') logger.warn('cache invalidation channel lost: client and API registrations are read from the database until it is back');
      else logger.info('cache invalidation channel back: caching client and API registrations again');
    });
    services = await createServices(config, storage);
    built = await createApp(config, storage, services, logger);
    const { app } = built;
    ({ readiness, logoutWorker } = built);
    const { headersTimeoutSeconds, requestTimeoutSeconds, keepAliveTimeoutSeconds } = config.resilience;
    server = createServer({ headersTimeout: headersTimeoutSeconds * 1000, requestTimeout: requestTimeoutSeconds * 1000 }, app.callback());
    server.keepAliveTimeout = keepAliveTimeoutSeconds * 1000;
    // no endpoint tunnels: CONNECT gets an answer instead of a dropped connection
    server.on('connect', (_request, socket) => {
      socket.end('HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD, POST, OPTIONS\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(config.port, config.host, () => resolve());
    });
    if (exposition && metricsPort !== undefined) metricsServer = await listenForMetrics(exposition, metricsPort, config.host);
  } catch (error) {
    server?.close();
    metricsServer?.close();
    await storage.close();
    throw error;
  }
  const purge = setInterval(() => {
    Promise.all([
      purgeExpiredPayloads(storage.db),
      purgeExpiredAccountTokens(storage.db),
      services.logoutDeliveries.purgeFinished(FINISHED_DELIVERIES_KEPT_SECONDS),
      services.initialAccessTokens.purgeExpired(),
      sweepUnusedRegistrations(services.clients, services.audit, config.clientRegistration.unusedTtlSeconds),
    ])
      .then((counts) => {
        const count = counts.reduce((sum, n) => sum + n, 0);
        if (count > 0) logger.info({ count }, 'purged expired rows');
      })
      .catch((error: unknown) => logger.warn({ err: error }, 'purge of expired rows failed'));
  }, config.purgeIntervalSeconds * 1000);
  purge.unref();
  built.keyMaintenance.start();
  logoutWorker.start();

  // the embedded database admits this process only: postern commands run here, through a socket
  const commandSocket =
    config.databaseUrl === undefined && config.dataDir !== ':memory:' ? await serveCommandSocket(config.dataDir, { config, storage, services }, logger) : undefined;

  const { port } = server.address() as AddressInfo;
  const boundMetricsPort = metricsServer && (metricsServer.address() as AddressInfo).port;
  const metricsUrl = boundMetricsPort === undefined ? undefined : `http://127.0.0.1:${boundMetricsPort}/metrics`;
  logger.info(
    { issuer: config.issuer, port, metricsPort: boundMetricsPort, database: describeDatabase(databaseTarget(config)), kv: storage.kv.kind, masterKey: storage.masterKeyOrigin, mode: config.mode },
    'postern listening',
  );
  const listening = server;
  const inFlight = trackInFlight(listening);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    storage,
    services,
    get provider() {
      return built.engine.provider;
    },
    metricsUrl,
    logoutWorker,
    async close(options = {}) {
      readiness.draining = true;
      clearInterval(purge);
      built.keyMaintenance.stop();
      const commandsDone = commandSocket?.close(config.resilience.shutdownTimeoutSeconds * 1000);
      if (options.announceSeconds) await new Promise((resolve) => setTimeout(resolve, options.announceSeconds! * 1000));
      const closed = new Promise<void>((resolve) => listening.close(() => resolve()));
      listening.closeIdleConnections();
      let cut = 0;
      const deadline = setTimeout(() => {
        cut = inFlight.count();
        listening.closeAllConnections();
      }, config.resilience.shutdownTimeoutSeconds * 1000);
      await inFlight.idle();
      clearTimeout(deadline);
      // a keep-alive connection whose last response just ended is idle now
      listening.closeIdleConnections();
      await closed;
      await commandsDone;
      // an attempt in flight ends within POSTERN_LOGOUT_TIMEOUT; what is not yet due waits in the queue
      await logoutWorker.stop();
      // scrapes go on answering through the drain; the metrics listener closes last
      if (metricsServer) {
        const metricsClosed = new Promise<void>((resolve) => metricsServer!.close(() => resolve()));
        metricsServer.closeAllConnections();
        await metricsClosed;
      }
      await storage.close();
      return { cut };
    },
  };
}
