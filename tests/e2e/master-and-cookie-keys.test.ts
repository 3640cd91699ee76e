import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { startServer } from '../../src/server.ts';
import { SEALED_COLUMNS } from '../../src/store/sealed-columns.ts';
import { createEnvelope } from '../../src/store/envelope.ts';
import { runCli, type CliResult } from '../cli/support/cli.ts';
import { availableBackends, backendEnv, type BackendEnv } from '../support/backends.ts';
import { discover, seed, signInAndExchange, startAuthorization, type Fixture } from '../support/relying-party.ts';
import { testServerEnv, type TestServer } from '../support/test-server.ts';
import { UserAgent } from '../support/user-agent.ts';

/**
 * Restarts of one deployment on PostgreSQL and Redis (the same database, issuer and port each
 * time) with its master key or cookie keys changed in between, as an operator rolls them out.
 */
const enabled = availableBackends().includes('postgres+redis');

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

function succeeded(result: CliResult): CliResult {
  if (result.code !== 0) throw new Error(`postern exited ${result.code}: ${result.stderr}`);
  return result;
}

describe.runIf(enabled)(`master key and cookie key rotation${enabled ? '' : ' (skipped: set TEST_DATABASE_URL and TEST_REDIS_URL to run)'}`, { timeout: 240_000 }, () => {
  let backend: BackendEnv;
  let port: number;
  let issuer: string;
  let server: TestServer | undefined;
  const oldKey = randomBytes(32).toString('base64');
  // in use from the master key rotation on, by the cookie key suite too
  const newKey = randomBytes(32).toString('base64');

  beforeAll(async () => {
    backend = await backendEnv('postgres+redis');
    port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await server?.close();
    await backend?.cleanup();
  });

  const environment = (env: Record<string, string>) => ({ ...testServerEnv(), ...backend.env, PORT: String(port), POSTERN_ISSUER: issuer, ...env });

  /** Stops the running instance and starts it again with `env` replacing the deployment's. */
  async function restart(env: Record<string, string>): Promise<TestServer> {
    await server?.close();
    server = undefined;
    const config = loadConfig(environment(env));
    const running = await startServer(config, createLogger(config.logLevel));
    server = { ...running, issuer, backend: 'postgres+redis', redisPrefix: backend.env.POSTERN_REDIS_PREFIX };
    return server;
  }

  const jwksKids = async () => ((await (await fetch(new URL('/jwks', issuer))).json()) as { keys: Array<{ kid: string }> }).keys.map((key) => key.kid);

  describe('the master key', () => {
    let fixture: Fixture;
    let refreshToken: string;
    let kids: string[];

    it('while it is replaced, a server holding the new key and the previous one opens everything and keeps every token working', async () => {
      const first = await restart({ POSTERN_MASTER_KEY: oldKey });
      fixture = await seed(first);
      const { tokens } = await signInAndExchange(first, await discover(first, fixture), fixture);
      refreshToken = tokens.refresh_token!;
      kids = await jwksKids();

      const during = await restart({ POSTERN_MASTER_KEY: newKey, POSTERN_MASTER_KEY_PREVIOUS: oldKey });
      const config = await discover(during, fixture);
      expect(await jwksKids()).toEqual(kids);
      const refreshed = await oidc.refreshTokenGrant(config, refreshToken);
      refreshToken = refreshed.refresh_token!;
      expect((await oidc.clientCredentialsGrant(config, { scope: 'read' })).access_token).toBeTypeOf('string');
    });

    it('postern master-key rotate refuses to run without the previous key', async () => {
      const result = await runCli(['master-key', 'rotate'], environment({ POSTERN_MASTER_KEY: newKey }));
      expect(result.code).toBe(1);
      expect(result.stderr).toBe('postern: master-key rotate: set POSTERN_MASTER_KEY_PREVIOUS (or POSTERN_MASTER_KEY_PREVIOUS_FILE) to the master key used until now, and POSTERN_MASTER_KEY to the new one\n');
    });

    it('seals every secret again under the new key in one run; afterwards the new key alone serves everything and the old one opens nothing', async () => {
      const env = environment({ POSTERN_MASTER_KEY: newKey, POSTERN_MASTER_KEY_PREVIOUS: oldKey });
      const first = JSON.parse(succeeded(await runCli(['master-key', 'rotate', '--json'], env)).stdout) as { resealed: number; columns: Array<{ table: string; resealed: number; current: number }> };
      const byTable = Object.fromEntries(first.columns.map((column) => [column.table, column]));
      expect(byTable.signing_keys).toEqual(expect.objectContaining({ resealed: 2, current: 0 }));
      expect(byTable.clients!.resealed).toBeGreaterThanOrEqual(1);
      expect(byTable.master_key_derivation).toEqual(expect.objectContaining({ resealed: 0, current: 1 }));
      const second = JSON.parse(succeeded(await runCli(['master-key', 'rotate', '--json'], env)).stdout) as { resealed: number };
      expect(second.resealed).toBe(0);

      const after = await restart({ POSTERN_MASTER_KEY: newKey });
      expect(await jwksKids()).toEqual(kids);
      const config = await discover(after, fixture);
      // the refresh token was stored under an id derived before the rotation: derived keys outlive it
      expect((await oidc.refreshTokenGrant(config, refreshToken)).access_token).toBeTypeOf('string');
      expect((await oidc.clientCredentialsGrant(config, { scope: 'read' })).access_token).toBeTypeOf('string');

      const old = createEnvelope(Buffer.from(oldKey, 'base64'));
      const neu = createEnvelope(Buffer.from(newKey, 'base64'));
      for (const column of SEALED_COLUMNS) {
        const rows: Array<Record<string, string>> = await after.storage.db(column.table).whereNotNull(column.column).select(column.rowKey, column.column);
        for (const row of rows) {
          expect(() => old.open(row[column.column]!, column, row[column.rowKey]!)).toThrow();
          expect(neu.sealedUnderCurrentKey(row[column.column]!, column, row[column.rowKey]!)).toBe(true);
        }
      }
    });

    it('a server still on the old key alone does not start', async () => {
      await server?.close();
      server = undefined;
      await expect(restart({ POSTERN_MASTER_KEY: oldKey })).rejects.toThrow(/does not open under this master key/);
      await restart({ POSTERN_MASTER_KEY: newKey });
    });
  });

  describe('cookie keys', () => {
    const first = randomBytes(24).toString('base64url');
    const second = randomBytes(24).toString('base64url');
    let fixture: Fixture;
    let agent: UserAgent;

    /** An authorization request with prompt=none: a code when the session cookie is honoured. */
    async function silentSignIn(running: TestServer): Promise<string> {
      const { url } = await startAuthorization(await discover(running, fixture), { prompt: 'none' });
      const page = await agent.get(url.toString());
      const callback = new URL(page.url);
      return callback.searchParams.get('code') ? 'code' : (callback.searchParams.get('error') ?? `no callback: ${page.status} ${page.url}`);
    }

    beforeAll(async () => {
      const running = await restart({ POSTERN_MASTER_KEY: newKey, POSTERN_COOKIE_KEYS: first });
      fixture = await seed(running, { username: 'cookie-user', clientName: 'Cookie App' });
      agent = new UserAgent(issuer);
      await signInAndExchange(running, await discover(running, fixture), fixture, {}, agent);
      expect(await silentSignIn(running)).toBe('code');
    });

    it('keeps a session signed under the old first key after a new key is prepended, and drops it once the old key is removed', async () => {
      const prepended = await restart({ POSTERN_MASTER_KEY: newKey, POSTERN_COOKIE_KEYS: `${second},${first}` });
      expect(await silentSignIn(prepended)).toBe('code');
      const removed = await restart({ POSTERN_MASTER_KEY: newKey, POSTERN_COOKIE_KEYS: second });
      // the visit above signed the cookies again, under the new first key
      expect(await silentSignIn(removed)).toBe('code');
      const unknown = await restart({ POSTERN_MASTER_KEY: newKey, POSTERN_COOKIE_KEYS: randomBytes(24).toString('base64url') });
      expect(await silentSignIn(unknown)).toBe('login_required');
    });
  });
});
