import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { ADMIN_SCOPES } from '../../src/domain/admin-access.ts';
import { createLogger } from '../../src/logger.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { clientCredentialsToken } from '../admin/support.ts';
import { availableBackends } from '../support/backends.ts';
import { testServerEnv } from '../support/test-server.ts';
import { createSandbox, errorLines, parseJson, runCli, type Sandbox } from './support/cli.ts';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

interface Created {
  clientId: string;
  clientSecret: string;
  audience: string;
  role: string;
  scopes: string[];
}

describe.each(availableBackends())('postern admin-client on %s', { timeout: 300_000 }, (backend) => {
  let cli: Sandbox;
  let env: Record<string, string>;
  let issuer: string;
  let port: number;

  beforeAll(async () => {
    cli = await createSandbox(backend);
    port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    env = { ...cli.env, POSTERN_ISSUER: issuer };
  });
  afterAll(() => cli?.cleanup());

  let full: Created;
  let reader: Created;

  it('creates an admin client with every scope and prints its secret once', async () => {
    const text = await runCli(['admin-client', 'create', '--name', 'Ops console'], env);
    expect(text.code, text.stderr).toBe(0);
    const secret = /^client secret +(\S+)$/m.exec(text.stdout)?.[1];
    expect(secret).toMatch(/^[\w-]{43}$/);
    expect(text.stdout.split(secret!)).toHaveLength(2);
    expect(text.stdout).toContain(`audience       ${issuer}/admin/v1`);
    expect(text.stdout).toContain('cannot be shown again');

    full = parseJson<Created>(await runCli(['admin-client', 'create', '--json'], env));
    expect(full).toMatchObject({ audience: `${issuer}/admin/v1`, role: 'postern-admin', scopes: ADMIN_SCOPES.map(({ scope }) => scope) });
    reader = parseJson<Created>(await runCli(['admin-client', 'create', '--scope', 'admin:users:read', '--json'], env));
    expect(reader).toMatchObject({ role: `admin-client:${reader.clientId}`, scopes: ['admin:users:read'] });
  });

  it('refuses an unknown scope as a usage error', async () => {
    const result = await runCli(['admin-client', 'create', '--scope', 'admin:everything'], env);
    expect(result.code).toBe(2);
    expect(errorLines(result)[0]).toContain('unknown scope "admin:everything"');
  });

  it('gives credentials that get admin API tokens from the server, with the scopes chosen', async () => {
    const config = loadConfig({ ...testServerEnv(), ...env, PORT: String(port) });
    let server: RunningServer | undefined;
    try {
      server = await startServer(config, createLogger('silent'));
      const target = { issuer };
      const call = async (token: string, path: string) => (await fetch(`${issuer}/admin/v1${path}`, { headers: { authorization: `Bearer ${token}` } })).status;
      const fullToken = await clientCredentialsToken(target, full.clientId, full.clientSecret, full.scopes);
      expect(await call(fullToken, '/clients')).toBe(200);
      expect(await call(fullToken, '/signing-keys')).toBe(200);
      const readerToken = await clientCredentialsToken(target, reader.clientId, reader.clientSecret, ADMIN_SCOPES.map(({ scope }) => scope));
      expect(await call(readerToken, '/users')).toBe(200);
      expect(await call(readerToken, '/clients')).toBe(403);
      const events = await (await fetch(`${issuer}/admin/v1/audit-events?type=client.created&actor=cli`, { headers: { authorization: `Bearer ${fullToken}` } })).json();
      expect((events as { items: unknown[] }).items).toHaveLength(3);
    } finally {
      await server?.close();
    }
  });
});
