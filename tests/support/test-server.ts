import { loadConfig } from '../../src/config.ts';
import { createLogger, type Logger } from '../../src/logger.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { backendEnv, type BackendName } from './backends.ts';

export interface TestServer extends RunningServer {
  issuer: string;
  backend: BackendName;
  /** the server's key prefix in the shared Redis (postgres+redis only) */
  redisPrefix: string | undefined;
}

/** A free loopback port: bound once to learn it, then released for the server. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address() as { port: number };
      probe.close(() => resolve(address.port));
    });
  });
}

/** The environment every test server runs with, before the backend's and the suite's own. */
export function testServerEnv(): Record<string, string> {
  return {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // fast hashes in the functional suites; the OWASP defaults are covered by the password tests
    POSTERN_ARGON2_MEMORY_KIB: '1024',
    POSTERN_ARGON2_ITERATIONS: '1',
    // suites sign in many times a minute from one address; the rate-limit suite sets its own limits
    POSTERN_RATE_LIMIT_LOGIN: '1000/1m',
    // a test machine runs the suites, browsers and both stores on two busy cores: a storage answer
    // slower than the production bound (750 ms) is not what these suites test; the outage suite
    // sets the production bound itself
    POSTERN_STORAGE_TIMEOUT: '3000',
  };
}

async function startOn(backend: BackendName, env: Record<string, string>, port: number, issuer: string, logger?: Logger): Promise<TestServer> {
  const config = loadConfig({ ...testServerEnv(), PORT: String(port), POSTERN_ISSUER: issuer, ...env });
  const server = await startServer(config, logger ?? createLogger(config.logLevel));
  return { ...server, issuer, backend, redisPrefix: env.POSTERN_REDIS_PREFIX };
}

/**
 * A real Postern on a random loopback port, on the given backend. The issuer is the loopback URL,
 * so relying parties in the tests talk to it exactly as they would in production.
 */
export async function startTestServer(backend: BackendName, extraEnv: Record<string, string> = {}, logger?: Logger, options: { hostname?: string } = {}): Promise<TestServer> {
  const { env, cleanup } = await backendEnv(backend);
  const port = await freePort();
  // WebAuthn takes a domain, never an IP address, as relying-party id: passkey suites use localhost
  const server = await startOn(backend, { ...env, ...extraEnv }, port, `http://${options.hostname ?? '127.0.0.1'}:${port}`, logger);
  return {
    ...server,
    async close() {
      const outcome = await server.close();
      await cleanup();
      return outcome;
    },
  };
}

export interface TestCluster {
  /** the instances, each on its own port, all serving one issuer (the first one's URL) */
  servers: TestServer[];
  /** the environment they share, for the CLI to run with */
  env: Record<string, string>;
  close(): Promise<void>;
}

/**
 * Several instances of one deployment: one database, one ephemeral tier and key prefix, one
 * master key and one issuer, as behind a load balancer (each answers for the issuer's host).
 * They start one after the other, so the first creates the schema and the signing key.
 */
export async function startTestCluster(backend: BackendName, count: number, extraEnv: Record<string, string> = {}): Promise<TestCluster> {
  const { env: backendVariables, cleanup } = await backendEnv(backend);
  const ports: number[] = [];
  for (let i = 0; i < count; i += 1) ports.push(await freePort());
  const issuer = `http://127.0.0.1:${ports[0]}`;
  const env = { ...backendVariables, ...extraEnv };
  const servers: TestServer[] = [];
  const close = async () => {
    await Promise.allSettled(servers.map((server) => server.close()));
    await cleanup();
  };
  try {
    for (const port of ports) {
      servers.push(await startOn(backend, env, port, issuer));
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { servers, env: { ...testServerEnv(), POSTERN_ISSUER: issuer, ...env }, close };
}
