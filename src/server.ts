import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Provider } from 'oidc-provider';
import { createApp } from './app.ts';
import type { Readiness } from './http/health.ts';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';
import { serveCommandSocket } from './cli/socket/serve.ts';
import { purgeExpiredPayloads } from './oidc/adapter/sql-model-store.ts';
import { purgeExpiredAccountTokens } from './recovery/account-tokens.ts';
import { createServices, openStorage, type Services, type Storage } from './services.ts';
import { describeDatabase, databaseTarget } from './store/db.ts';

export interface RunningServer {
  url: string;
  port: number;
  storage: Storage;
  services: Services;
  provider: Provider;
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
  const storage = await openStorage(config);
  let server: Server | undefined;
  let services: Services;
  let provider: Provider;
  let readiness: Readiness;
  try {
    // before anything is read: registrations are cached only while changes can be heard
    await storage.processCaches.listen((state) => {
      if (state === 'interrupted') logger.warn('cache invalidation channel lost: client and API registrations are read from the database until it is back');
      else logger.info('cache invalidation channel back: caching client and API registrations again');
    });
    services = await createServices(config, storage);
    const built = await createApp(config, storage, services, logger);
    const { app } = built;
    ({ provider, readiness } = built);
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
  } catch (error) {
    server?.close();
    await storage.close();
    throw error;
  }
  const purge = setInterval(() => {
    Promise.all([purgeExpiredPayloads(storage.db), purgeExpiredAccountTokens(storage.db)])
      .then(([payloads, tokens]) => payloads + tokens > 0 && logger.info({ count: payloads + tokens }, 'purged expired rows'))
      .catch((error: unknown) => logger.warn({ err: error }, 'purge of expired rows failed'));
  }, config.purgeIntervalSeconds * 1000);
  purge.unref();

  // the embedded database admits this process only: postern commands run here, through a socket
  const commandSocket =
    config.databaseUrl === undefined && config.dataDir !== ':memory:' ? await serveCommandSocket(config.dataDir, { config, storage, services }, logger) : undefined;

  const { port } = server.address() as AddressInfo;
  logger.info(
    { issuer: config.issuer, port, database: describeDatabase(databaseTarget(config)), kv: storage.kv.kind, masterKey: storage.masterKeyOrigin, mode: config.mode },
    'postern listening',
  );
  const listening = server;
  const inFlight = trackInFlight(listening);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    storage,
    services,
    provider,
    async close(options = {}) {
      readiness.draining = true;
      clearInterval(purge);
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
      await storage.close();
      return { cut };
    },
  };
}
