import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError, type OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MCP_SCOPE, startMcpExample, type RunningMcpExample } from '../../examples/mcp-server/server.ts';
import { availableBackends } from '../support/backends.ts';
import { launchChromium, skipBrowserSuites } from '../support/browser.ts';
import { API, seed, type Fixture } from '../support/relying-party.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

/** An MCP client's memory (what a desktop agent keeps on disk), and where it sends the user. */
class MemoryAuthProvider implements OAuthClientProvider {
  client: OAuthClientInformationMixed | undefined;
  saved: OAuthTokens | undefined;
  verifier = '';
  authorizationUrl: URL | undefined;
  readonly redirectUrl: string;

  constructor(redirectUrl: string) {
    this.redirectUrl = redirectUrl;
  }

  get clientMetadata(): OAuthClientMetadata {
    return { client_name: 'Example agent', redirect_uris: [this.redirectUrl], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' };
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(information: OAuthClientInformationMixed) {
    this.client = information;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
}

describe.skipIf(skipBrowserSuites).each(availableBackends())('an MCP client signs in through Postern on %s', { timeout: 120_000 }, (backend) => {
  let server: TestServer;
  let mcp: RunningMcpExample;
  let browser: Browser;
  let fixture: Fixture;

  beforeAll(async () => {
    server = await startTestServer(backend, {
      POSTERN_CLIENT_REGISTRATION: 'open-native',
      POSTERN_CLIENT_REGISTRATION_SCOPES: `openid offline_access ${MCP_SCOPE}`,
      POSTERN_RATE_LIMIT_CLIENT_REGISTRATION: '1000/1m',
    });
    fixture = await seed(server);
    mcp = await startMcpExample({ issuer: server.issuer, port: 0 });
    await server.services.resourceServers.create({ identifier: mcp.resource, name: 'MCP tools', access: 'open', scopes: [{ scope: MCP_SCOPE, description: 'Use the example tools' }] });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await mcp?.close();
    await server?.close();
  });

  /** The user's part: Postern's sign-in and consent pages in Chromium; returns the code the agent's loopback receives. */
  async function approveInBrowser(authorizationUrl: URL, redirectUrl: string): Promise<string> {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(authorizationUrl.href);
      await page.getByLabel('Username or email').fill(fixture.username);
      await page.getByLabel('Password').fill(fixture.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForLoadState();
      expect(await page.locator('h1').first().textContent()).toContain('Example agent');
      // nothing listens on the agent's loopback port here: the request is captured as it leaves
      const leaving = page.waitForRequest((request) => request.url().startsWith(redirectUrl) && request.isNavigationRequest());
      await page.getByRole('button', { name: 'Allow', exact: true }).click();
      const callback = new URL((await leaving).url());
      expect(callback.searchParams.get('iss')).toBe(server.issuer);
      return callback.searchParams.get('code')!;
    } finally {
      await context.close();
    }
  }

  it('answers without a token with 401 and the protected-resource metadata, which names Postern', async () => {
    const refused = await fetch(mcp.resource, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{}' });
    expect(refused.status).toBe(401);
    const challenge = refused.headers.get('www-authenticate')!;
    expect(challenge).toMatch(/^Bearer /);
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge)![1]!;
    const metadata = (await (await fetch(metadataUrl)).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({ resource: mcp.resource, authorization_servers: [server.issuer], scopes_supported: [MCP_SCOPE, 'offline_access'] });
    const forged = await fetch(mcp.resource, { method: 'POST', headers: { authorization: 'Bearer not.a.token' }, body: '{}' });
    expect(forged.status).toBe(401);
    expect(forged.headers.get('www-authenticate')).toContain('error="invalid_token"');

    // a genuine Postern token, but for another API's audience
    const other = await fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${fixture.clientId}:${fixture.clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: API, scope: 'read' }),
    });
    const { access_token: elsewhere } = (await other.json()) as { access_token: string };
    expect(elsewhere.split('.')).toHaveLength(3);
    const misdirected = await fetch(mcp.resource, { method: 'POST', headers: { authorization: `Bearer ${elsewhere}` }, body: '{}' });
    expect(misdirected.status).toBe(401);
    expect(misdirected.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('discovers, registers itself, signs the user in with PKCE, calls a tool, and refreshes its token', async () => {
    const redirectUrl = 'http://127.0.0.1:47113/callback';
    const provider = new MemoryAuthProvider(redirectUrl);

    // 401 → RFC 9728 metadata → Postern's discovery → dynamic registration → authorization URL
    const first = new Client({ name: 'example-agent', version: '1.0.0' });
    await expect(first.connect(new StreamableHTTPClientTransport(new URL(mcp.resource), { authProvider: provider }))).rejects.toBeInstanceOf(UnauthorizedError);
    const clientId = provider.client!.client_id;
    expect(await server.services.clients.get(clientId)).toMatchObject({ dynamic: true, type: 'public', redirectUris: [redirectUrl] });
    const authorizationUrl = provider.authorizationUrl!;
    expect(authorizationUrl.origin).toBe(server.issuer);
    expect(authorizationUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorizationUrl.searchParams.get('resource')).toBe(mcp.resource);

    const code = await approveInBrowser(authorizationUrl, redirectUrl);
    const transport = new StreamableHTTPClientTransport(new URL(mcp.resource), { authProvider: provider });
    await transport.finishAuth(code);
    const firstTokens = provider.saved!;
    expect(firstTokens.refresh_token).toEqual(expect.any(String));

    const client = new Client({ name: 'example-agent', version: '1.0.0' });
    await client.connect(transport);
    const answer = await client.callTool({ name: 'whoami' });
    const who = JSON.parse((answer.content as Array<{ text: string }>)[0]!.text) as { sub: string; client_id: string; scopes: string[] };
    expect(who).toMatchObject({ sub: fixture.accountId, client_id: clientId });
    expect(who.scopes).toContain(MCP_SCOPE);
    await client.close();

    // the access token no longer works (as after it expired): the SDK refreshes and calls again
    provider.saved = { ...firstTokens, access_token: 'expired' };
    const again = new Client({ name: 'example-agent', version: '1.0.0' });
    await again.connect(new StreamableHTTPClientTransport(new URL(mcp.resource), { authProvider: provider }));
    const second = await again.callTool({ name: 'whoami' });
    expect(JSON.parse((second.content as Array<{ text: string }>)[0]!.text)).toMatchObject({ sub: fixture.accountId });
    expect(provider.saved.access_token).not.toBe(firstTokens.access_token);
    expect(provider.saved.refresh_token).not.toBe(firstTokens.refresh_token);
    await again.close();
    await expect.poll(async () => (await server.services.clients.get(clientId)).firstUsedAt).not.toBeNull();
  });
});
