import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Provider } from 'oidc-provider';
import { createApp } from './app.ts';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';
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
  close(): Promise<void>;
}

/** Opens storage, builds the app and listens. Used by `main.ts` and by the tests. */
export async function startServer(config: Readonly<Config>, logger: Logger): Promise<RunningServer> {
  const storage = await openStorage(config);
  let server: Server | undefined;
  let services: Services;
  let provider: Provider;
  try {
    services = await createServices(config, storage);
    const built = await createApp(config, storage, services, logger);
    const { app } = built;
    provider = built.provider;
    server = createServer(app.callback());
    server.keepAliveTimeout = 65_000;
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

  const { port } = server.address() as AddressInfo;
  logger.info(
    { issuer: config.issuer, port, database: describeDatabase(databaseTarget(config)), kv: storage.kv.kind, masterKey: storage.masterKeyOrigin, mode: config.mode },
    'postern listening',
  );
  const listening = server;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    storage,
    services,
    provider,
    async close() {
      clearInterval(purge);
      listening.closeAllConnections();
      await new Promise<void>((resolve) => listening.close(() => resolve()));
      await storage.close();
    },
  };
}
