import { loadConfig } from '../../src/config.ts';
import { createLogger, type Logger } from '../../src/logger.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { backendEnv, type BackendName } from './backends.ts';

export interface TestServer extends RunningServer {
  issuer: string;
  backend: BackendName;
}

/**
 * A real Postern on a random loopback port, on the given backend. The issuer is the loopback URL,
 * so relying parties in the tests talk to it exactly as they would in production.
 */
export async function startTestServer(backend: BackendName, extraEnv: Record<string, string> = {}, logger?: Logger): Promise<TestServer> {
  const { env, cleanup } = await backendEnv(backend);
  // the port is unknown before listening: bind once to learn a free one, then start for real
  const { createServer } = await import('node:net');
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address() as { port: number };
      probe.close(() => resolve(address.port));
    });
  });
  const issuer = `http://127.0.0.1:${port}`;
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: String(port),
    HOST: '127.0.0.1',
    POSTERN_ISSUER: issuer,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // fast hashes in the functional suites; the OWASP defaults are covered by the password tests
    POSTERN_ARGON2_MEMORY_KIB: '1024',
    POSTERN_ARGON2_ITERATIONS: '1',
    // suites sign in many times a minute from one address; the rate-limit suite sets its own limits
    POSTERN_RATE_LIMIT_LOGIN: '1000/1m',
    ...env,
    ...extraEnv,
  });
  const server = await startServer(config, logger ?? createLogger(config.logLevel));
  return {
    ...server,
    issuer,
    backend,
    async close() {
      const outcome = await server.close();
      await cleanup();
      return outcome;
    },
  };
}
