import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as oidc from 'openid-client';
import { signIn, startAuthorization } from '../support/relying-party.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { UserAgent } from '../support/user-agent.ts';

const EXAMPLE = resolve(import.meta.dirname, '../../examples/relying-party.ts');
const PASSWORD = 'correct horse battery staple';

async function freePort(): Promise<number> {
  return new Promise((done) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => done(port));
    });
  });
}

/** Runs the example until it says it listens (or exits); answers its process and what it printed. */
function startExample(env: Record<string, string>): Promise<{ child: ChildProcess; output: () => string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [EXAMPLE], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return new Promise((done) => {
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('relying party for')) done({ child, output: () => output, exited });
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    void exited.then(() => done({ child, output: () => output, exited }));
  });
}

describe('the example relying party', { timeout: 120_000 }, () => {
  let server: TestServer;
  let clientId: string;
  let clientSecret: string;
  let port: string;

  beforeAll(async () => {
    server = await startTestServer('embedded');
    await server.services.resourceServers.create({
      identifier: 'https://api.example.test',
      name: 'Example API',
      isDefault: true,
      access: 'open',
      scopes: [{ scope: 'read', description: 'Read your data' }],
    });
    await server.services.accounts.create({ username: 'alice', email: 'alice@example.test', emailVerified: true, name: 'Alice Example' }, PASSWORD);
    port = String(await freePort());
    const created = await server.services.clients.create({
      name: 'Example App',
      type: 'confidential',
      redirectUris: [`http://localhost:${port}/signed-in`],
      postLogoutRedirectUris: [],
      grantTypes: ['authorization_code', 'refresh_token'],
      firstParty: true,
    });
    clientId = created.client.clientId;
    clientSecret = created.clientSecret!;
  });
  afterAll(() => server?.close());

  it('listens on PORT, sends REDIRECT_URI, takes the callback at its path, and says which scope is whose', async () => {
    const redirectUri = `http://localhost:${port}/signed-in`;
    const example = await startExample({ ISSUER: server.issuer, CLIENT_ID: clientId, CLIENT_SECRET: clientSecret, PORT: port, REDIRECT_URI: redirectUri });
    try {
      expect(example.output()).toContain(`at http://localhost:${port}/ (issuer ${server.issuer}, redirect URI ${redirectUri})`);
      const start = await fetch(`http://localhost:${port}/`, { redirect: 'manual' });
      expect(start.status).toBe(302);
      const authorization = new URL(start.headers.get('location')!);
      expect(authorization.searchParams.get('redirect_uri')).toBe(redirectUri);
      expect(authorization.searchParams.get('scope')).toBe('openid profile email read');
      const loginCookie = start.headers.getSetCookie()[0]!.split(';')[0]!;

      const agent = new UserAgent(server.issuer);
      const callback = await signIn(agent, authorization, { username: 'alice', password: PASSWORD });
      expect(callback.origin + callback.pathname).toBe(redirectUri);
      const page = await fetch(callback, { headers: { cookie: loginCookie } });
      const html = await page.text();
      expect(page.status, html).toBe(200);
      expect(html).toContain('<title>Signed in as alice</title>');
      expect(html).toContain("The access token's scope: <code>read</code>");
      expect(html).toContain('the OpenID scopes\' claims are in the ID token above');
      expect(html).toContain('&#34;email&#34;: &#34;alice@example.test&#34;');
      expect(html).toContain('No refresh token was issued');

      // the README's way to get a userinfo token too: a second request with OpenID scopes only,
      // answered without a page while the session lasts
      const config = await oidc.discovery(new URL(server.issuer), clientId, clientSecret, oidc.ClientSecretBasic(clientSecret), { execute: [oidc.allowInsecureRequests] });
      const second = await startAuthorization(config, { scope: 'openid profile email', prompt: 'none', redirect_uri: redirectUri });
      const silent = await agent.follow(second.url.toString());
      expect(silent.status).toBe(0);
      const tokens = await oidc.authorizationCodeGrant(config, new URL(silent.url), { pkceCodeVerifier: second.verifier, expectedState: second.state, expectedNonce: second.nonce });
      expect(await oidc.fetchUserInfo(config, tokens.access_token, tokens.claims()!.sub)).toMatchObject({ email: 'alice@example.test', name: 'Alice Example' });
    } finally {
      example.child.kill();
      await example.exited;
    }
  });

  it('asks for consent when SCOPE asks for offline_access, and reports the refresh token', async () => {
    const redirectUri = `http://localhost:${port}/signed-in`;
    const example = await startExample({
      ISSUER: server.issuer,
      CLIENT_ID: clientId,
      CLIENT_SECRET: clientSecret,
      PORT: port,
      REDIRECT_URI: redirectUri,
      SCOPE: 'openid profile offline_access',
    });
    try {
      const start = await fetch(`http://localhost:${port}/`, { redirect: 'manual' });
      const authorization = new URL(start.headers.get('location')!);
      expect(authorization.searchParams.get('prompt')).toBe('consent');
      const callback = await signIn(new UserAgent(server.issuer), authorization, { username: 'alice', password: PASSWORD });
      const html = await (await fetch(callback, { headers: { cookie: start.headers.getSetCookie()[0]!.split(';')[0]! } })).text();
      expect(html).toContain('A refresh token was issued.');
      // no API scope: the access token is for userinfo, where the profile claims are
      expect(html).toContain("The access token's scope: <code>openid profile offline_access</code>");
      expect(html).toContain("the OpenID scopes' claims are in the userinfo response above");
    } finally {
      example.child.kill();
      await example.exited;
    }
  });

  it('refuses a PORT or REDIRECT_URI it cannot use, in one line, exit 2', async () => {
    const badPort = await startExample({ CLIENT_ID: 'x', PORT: 'eighty' });
    expect(await badPort.exited).toBe(2);
    expect(badPort.output()).toBe('relying-party: PORT must be a port number, got "eighty"\n');
    const badUri = await startExample({ CLIENT_ID: 'x', REDIRECT_URI: 'localhost:8080/callback' });
    expect(await badUri.exited).toBe(2);
    expect(badUri.output()).toBe('relying-party: REDIRECT_URI must be an http(s) URL, got "localhost:8080/callback"\n');
  });
});
