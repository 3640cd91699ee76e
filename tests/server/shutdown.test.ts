import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

interface Running {
  child: ChildProcess;
  port: number;
  stdout: string[];
  stderr: string[];
  exited: Promise<number | null>;
}

const running: Running[] = [];
const dirs: string[] = [];

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** `node src/main.ts` as an operator runs it, on the embedded tier, until it says it listens. */
async function start(env: Record<string, string> = {}): Promise<Running> {
  const port = await freePort();
  const keys = await mkdtemp(join(tmpdir(), 'postern-shutdown-'));
  dirs.push(keys);
  const child = spawn(process.execPath, ['src/main.ts'], {
    cwd: process.cwd(),
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      PORT: String(port),
      HOST: '127.0.0.1',
      POSTERN_ISSUER: `http://127.0.0.1:${port}`,
      POSTERN_DATA_DIR: ':memory:',
      POSTERN_KEYS_DIR: keys,
      POSTERN_MASTER_KEY: randomBytes(32).toString('base64'),
      POSTERN_ARGON2_MEMORY_KIB: '1024',
      POSTERN_ARGON2_ITERATIONS: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  let buffered = '';
  const listening = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      stdout.push(...lines);
      if (lines.some((line) => line.includes('"postern listening"'))) resolve();
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code} before listening: ${stderr.join('')}`)));
  });
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await listening;
  const server = { child, port, stdout, stderr, exited };
  running.push(server);
  return server;
}

/** A token request whose body has only begun to arrive: in flight until `finish` sends the rest. */
async function requestInFlight(port: number): Promise<{ socket: Socket; response: Promise<string>; finish(): void }> {
  const body = 'grant_type=client_credentials&client_id=nobody&client_secret=nothing';
  const socket = connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(`POST /token HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`);
  let received = '';
  const response = new Promise<string>((resolve, reject) => {
    socket.on('data', (chunk) => (received += chunk.toString()));
    socket.on('end', () => resolve(received));
    socket.on('error', reject);
  });
  // let the server receive the headers and start reading the body
  await new Promise((resolve) => setTimeout(resolve, 200));
  return { socket, response, finish: () => socket.write(body.slice(10)) };
}

/** A whole token request whose connection closes right after it is written. */
function abandon(port: number): void {
  const body = 'grant_type=client_credentials&client_id=nobody&client_secret=nothing';
  const socket = connect(port, '127.0.0.1', () => {
    socket.write(`POST /token HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    socket.destroy();
  });
  socket.on('error', () => {});
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

afterEach(async () => {
  for (const server of running.splice(0)) if (server.child.exitCode === null) server.child.kill('SIGKILL');
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('a deploy (SIGTERM)', () => {
  it('says not ready while it still accepts, then stops accepting, finishes the request in flight, closes the pools and exits 0; every line it writes is JSON', async () => {
    const server = await start({ POSTERN_SHUTDOWN_DELAY: '1' });
    // the introspection pre-parse once made the engine print a plain-text warning on stderr
    const introspection = await fetch(`http://127.0.0.1:${server.port}/token/introspection`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('nobody:nothing').toString('base64')}` },
      body: 'token=eyJhbGciOiJSUzI1NiJ9.e30.c2ln',
    });
    expect(introspection.status).toBe(401);
    // clients that go away as soon as they have sent their request: once made the engine print a warning too
    for (let i = 0; i < 20; i += 1) abandon(server.port);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const inFlight = await requestInFlight(server.port);
    server.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    // the announcement: a load balancer polling /readyz learns to stop sending; what it still sends is served
    const readiness = await fetch(`http://127.0.0.1:${server.port}/readyz`);
    expect(readiness.status).toBe(503);
    expect(await readiness.json()).toEqual({ status: 'draining' });
    const late = await fetch(`http://127.0.0.1:${server.port}/.well-known/openid-configuration`);
    expect(late.status).toBe(200);
    expect(late.headers.get('connection')).toBe('close');
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(await refused(server.port)).toBe(true);
    expect(server.child.exitCode).toBeNull();
    inFlight.finish();
    const answer = await inFlight.response;
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(answer).toContain('Connection: close');
    expect(answer).toContain('"error":"invalid_client"');
    expect(await server.exited).toBe(0);
    expect(server.stderr.join('')).toBe('');
    for (const line of server.stdout.filter(Boolean)) expect(() => JSON.parse(line), line).not.toThrow();
    const messages = server.stdout.filter(Boolean).map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(messages).toContain('draining: finishing in-flight requests');
    expect(messages).toContain('stopped');
  });

  it('cuts what is still running when POSTERN_SHUTDOWN_TIMEOUT is reached, says how much, and exits 0', async () => {
    const server = await start({ POSTERN_SHUTDOWN_DELAY: '0', POSTERN_SHUTDOWN_TIMEOUT: '1' });
    const stuck = await requestInFlight(server.port);
    const signalled = Date.now();
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(5000);
    await stuck.response.catch(() => '');
    const warnings = server.stdout.filter((line) => line.includes('"shutdown timeout reached'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({ cut: 1 });
  });

  it('exits at once on a second signal', async () => {
    const server = await start();
    await requestInFlight(server.port);
    server.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(server.child.exitCode).toBeNull();
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(1);
  });
});
