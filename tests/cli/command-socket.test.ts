import { lstat, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findServer } from '../../src/cli/socket/client.ts';
import { startAuthorization, signIn } from '../support/relying-party.ts';
import { UserAgent } from '../support/user-agent.ts';
import { createSandbox, errorLines, parseJson, type Sandbox } from './support/cli.ts';
import { startServerProcess, type ServerProcess } from './support/server-process.ts';

const FIRST = 'a long passphrase over the socket';
const SECOND = 'another passphrase over the socket';

type Frame = { type: string; data?: string; on?: boolean; code?: number };

/**
 * Speaks the command socket's protocol by hand: writes `first`, then answers each `read` with the
 * next of `chunks` (ending stdin after the last), or with `onRead` when given. Answers every frame received.
 */
function converse(path: string, first: string, options: { chunks?: string[]; onRead?: (socket: ReturnType<typeof connect>) => void } = {}): Promise<Frame[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const frames: Frame[] = [];
    const chunks = [...(options.chunks ?? [])];
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('error', reject);
    socket.on('connect', () => socket.write(first));
    socket.on('data', (data: string) => {
      buffered += data;
      for (let end = buffered.indexOf('\n'); end !== -1; end = buffered.indexOf('\n')) {
        const frame = JSON.parse(buffered.slice(0, end)) as Frame;
        buffered = buffered.slice(end + 1);
        frames.push(frame);
        if (frame.type !== 'read') continue;
        if (options.onRead) options.onRead(socket);
        else {
          const chunk = chunks.shift();
          socket.write(`${JSON.stringify(chunk === undefined ? { type: 'stdin-end' } : { type: 'stdin', data: Buffer.from(chunk).toString('base64') })}\n`);
        }
      }
    });
    socket.on('close', () => resolve(frames));
  });
}

const runFrame = (argv: string[], stdinIsTTY = false) => `${JSON.stringify({ type: 'run', version: 1, argv, stdinIsTTY })}\n`;

async function clientCredentials(issuer: string, clientId: string, secret: string): Promise<{ status: number; body: { access_token?: string; error?: string } }> {
  const response = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  return { status: response.status, body: (await response.json()) as { access_token?: string; error?: string } };
}

/** Signs `username` in through the real pages and redeems the code: throws when the password is refused. */
async function signsIn(issuer: string, client: { clientId: string; clientSecret: string }, username: string, password: string): Promise<boolean> {
  const config = await oidc.discovery(new URL(issuer), client.clientId, client.clientSecret, oidc.ClientSecretBasic(client.clientSecret), {
    execute: [oidc.allowInsecureRequests],
  });
  const start = await startAuthorization(config, { scope: 'openid', prompt: 'login consent' });
  let callback: URL;
  try {
    callback = await signIn(new UserAgent(issuer), start.url, { username, password });
  } catch {
    return false;
  }
  const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce });
  return typeof tokens.id_token === 'string';
}

describe('postern beside a running server on the embedded database', { timeout: 600_000 }, () => {
  let cli: Sandbox;
  let server: ServerProcess;
  let socketPath: string;

  beforeAll(async () => {
    cli = await createSandbox('embedded');
    server = await startServerProcess(cli.env);
    socketPath = join(cli.env.POSTERN_DATA_DIR!, 'postern.sock');
    // creating a PGlite data directory has taken minutes on a loaded machine
  }, 600_000);
  afterAll(async () => {
    await server?.stop('SIGKILL');
    await cli?.cleanup();
  });

  it('serves a command socket in the data directory: a socket, mode 0600', async () => {
    const socket = await lstat(socketPath);
    expect(socket.isSocket()).toBe(true);
    expect(socket.mode & 0o777).toBe(0o600);
    expect((await stat(cli.env.POSTERN_DATA_DIR!)).mode & 0o777).toBe(0o700);
  });

  it('a client created through the CLI gets a token at once; deleted, it is refused at once', async () => {
    const created = parseJson<{ clientId: string; clientSecret: string }>(
      await cli.run(['client', 'create', '--name', 'Worker', '--grant-type', 'client_credentials', '--json']),
    );
    const granted = await clientCredentials(server.issuer, created.clientId, created.clientSecret);
    expect(granted.status).toBe(200);
    expect(granted.body.access_token).toBeTypeOf('string');

    // the server has read (and cached) the registration: the delete must reach its cache, not wait it out
    const deleted = await cli.run(['client', 'delete', created.clientId]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toBe(`deleted client ${created.clientId}\n`);
    const refused = await clientCredentials(server.issuer, created.clientId, created.clientSecret);
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe('invalid_client');
  });

  it('a password piped to the CLI is the one that signs in, for create and set-password; the log never holds it', async () => {
    const app = parseJson<{ clientId: string; clientSecret: string }>(
      await cli.run(['client', 'create', '--name', 'App', '--redirect-uri', 'http://localhost:8080/callback', '--first-party', '--json']),
    );
    const created = await cli.run(['user', 'create', '--username', 'alice', '--email', 'alice@example.com', '--json'], `${FIRST}\n`);
    expect(parseJson<{ username: string; hasPassword: boolean }>(created)).toMatchObject({ username: 'alice', hasPassword: true });
    expect(await signsIn(server.issuer, app, 'alice', FIRST)).toBe(true);

    const reset = await cli.run(['user', 'set-password', 'alice@example.com'], `${SECOND}\nignored second line\n`);
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stdout).toBe('password set for alice\n');
    expect(await signsIn(server.issuer, app, 'alice', FIRST)).toBe(false);
    expect(await signsIn(server.issuer, app, 'alice', SECOND)).toBe(true);

    const log = server.log();
    expect(log).toContain('"command":"user create","exitCode":0');
    expect(log).toContain('"command":"user set-password","exitCode":0');
    for (const secret of [FIRST, SECOND, 'passphrase', app.clientSecret]) expect(log).not.toContain(secret);
  });

  it('answers usage mistakes, refusals and unknown commands with the exit codes of a local run', async () => {
    const help = await cli.run(['user', 'create', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: postern user create --username USERNAME/);

    const unknown = await cli.run(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(errorLines(unknown)[0]).toBe('postern: unknown command "frobnicate"');
    expect(unknown.stderr).toContain('Usage: postern <command>');

    const argvPassword = await cli.run(['user', 'create', '--username', 'bob', '--password', 'hunter2hunter2'], `${FIRST}\n`);
    expect(argvPassword.code).toBe(2);
    expect(errorLines(argvPassword)).toEqual(['postern: user create: passwords are never taken from the command line; pipe one line on stdin or answer the prompt']);
    expect(server.log()).not.toContain('hunter2');

    const short = await cli.run(['user', 'create', '--username', 'bob'], 'short\n');
    expect(short.code).toBe(1);
    expect(errorLines(short)).toEqual(['postern: Use at least 12 characters.']);

    const missing = await cli.run(['user', 'show', 'nobody']);
    expect(missing.code).toBe(1);
    expect(errorLines(missing)).toEqual(['postern: no account "nobody"']);

    const users = parseJson<Array<{ username: string }>>(await cli.run(['user', 'list', '--json']));
    expect(users.map((user) => user.username)).toEqual(['alice']);
    expect(server.log()).toContain('"command":"unknown","exitCode":2');
  });

  it('runs a terminal prompt over the socket: raw mode around each prompt, keys sent as asked for', async () => {
    const frames = await converse(socketPath, runFrame(['user', 'create', '--username', 'carol'], true), {
      chunks: ['a terminal ', 'passphrase\r', 'a terminal passphrase\r'],
    });
    const shown = frames.filter((frame) => frame.type === 'raw' || frame.type === 'stderr').map((frame) => (frame.type === 'raw' ? `raw:${frame.on}` : frame.data));
    expect(shown).toEqual(['New password: ', 'raw:true', 'raw:false', '\n', 'Repeat the password: ', 'raw:true', 'raw:false', '\n']);
    expect(frames.at(-1)).toEqual({ type: 'exit', code: 0 });
    expect(frames.filter((frame) => frame.type === 'stdout').map((frame) => frame.data).join('')).toMatch(/^username +carol$/m);

    const cancelled = await converse(socketPath, runFrame(['user', 'create', '--username', 'dave'], true), { chunks: ['\u0003'] });
    expect(cancelled.at(-1)).toEqual({ type: 'exit', code: 130 });
    expect(cancelled.filter((frame) => frame.type === 'raw').at(-1)).toEqual({ type: 'raw', on: false });
  });

  it('a CLI that goes away halfway through a piped password creates nothing', async () => {
    await converse(socketPath, runFrame(['user', 'create', '--username', 'erin']), {
      onRead: (socket) => {
        socket.write(`${JSON.stringify({ type: 'stdin', data: Buffer.from('a long passphrase, cut').toString('base64') })}\n`);
        setTimeout(() => socket.destroy(), 200);
      },
    });
    const missing = await cli.run(['user', 'show', 'erin']);
    expect(missing.code).toBe(1);
    expect(errorLines(missing)).toEqual(['postern: no account "erin"']);
  });

  it('refuses a request it cannot read, in one line, and goes on serving', async () => {
    const garbage = await converse(socketPath, 'hello\n');
    expect(garbage).toEqual([
      { type: 'stderr', data: 'postern: the server could not read the request: a message that is not JSON\n' },
      { type: 'exit', code: 1 },
    ]);
    const otherVersion = await converse(socketPath, `${JSON.stringify({ type: 'run', version: 99, argv: ['user', 'list'], stdinIsTTY: false })}\n`);
    expect(otherVersion[0]!.data).toBe(
      "postern: the server could not read the request: command protocol 99, where this server speaks 1: run the postern of the server's own installation\n",
    );
    expect(otherVersion.at(-1)).toEqual({ type: 'exit', code: 1 });
    const notArgs = await converse(socketPath, `${JSON.stringify({ type: 'run', version: 1, argv: [1, 2], stdinIsTTY: false })}\n`);
    expect(notArgs[0]!.data).toBe('postern: the server could not read the request: a command without its arguments\n');
    expect((await cli.run(['user', 'show', 'alice'])).code).toBe(0);
  });

  it('is used on the embedded tier only: with DATABASE_URL the CLI opens the database itself', async () => {
    const socket = await findServer({ POSTERN_DATA_DIR: cli.env.POSTERN_DATA_DIR });
    expect(socket).toBeDefined();
    socket!.destroy();
    expect(await findServer({ POSTERN_DATA_DIR: cli.env.POSTERN_DATA_DIR, DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres' })).toBeUndefined();
  });

  it('removes the socket on shutdown; the CLI then opens the database itself and sees what was done through the server', async () => {
    expect(await server.stop('SIGTERM')).toBe(0);
    await expect(lstat(socketPath)).rejects.toMatchObject({ code: 'ENOENT' });
    const users = parseJson<Array<{ username: string }>>(await cli.run(['user', 'list', '--json']));
    expect(users.map((user) => user.username)).toEqual(['alice', 'carol']);
  });

  it('a socket left by a killed server: the CLI opens the database itself, the next server replaces the socket', async () => {
    server = await startServerProcess(cli.env);
    expect(await server.stop('SIGKILL')).toBe(null);
    expect((await lstat(socketPath)).isSocket()).toBe(true);

    const direct = await cli.run(['user', 'show', 'carol', '--json']);
    expect(parseJson<{ username: string }>(direct).username).toBe('carol');

    server = await startServerProcess(cli.env);
    expect(server.log()).toContain('"msg":"removed a stale command socket"');
    expect(((await lstat(socketPath)).mode & 0o777)).toBe(0o600);
    const through = await cli.run(['user', 'show', 'carol']);
    expect(through.code, through.stderr).toBe(0);
    expect(server.log()).toContain('"command":"user show","exitCode":0');
  });
});
