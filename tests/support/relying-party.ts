import * as oidc from 'openid-client';
import { afterAll, beforeAll } from 'vitest';
import type { BackendName } from './backends.ts';
import { startTestServer, type TestServer } from './test-server.ts';
import { formAction, hiddenField, UserAgent } from './user-agent.ts';

export const REDIRECT_URI = 'http://localhost:8080/callback';
export const POST_LOGOUT_REDIRECT_URI = 'http://localhost:8080/signed-out';
export const API = 'https://api.example.test';

export interface Fixture {
  clientId: string;
  clientSecret: string;
  username: string;
  password: string;
  accountId: string;
}

/** Registers a confidential client, a user and an API with `read`/`write` scopes. */
export async function seed(server: TestServer, options: { firstParty?: boolean; clientName?: string; username?: string } = {}): Promise<Fixture> {
  const { client, clientSecret } = await server.services.clients.create({
    name: options.clientName ?? 'Example App',
    type: 'confidential',
    redirectUris: [REDIRECT_URI],
    postLogoutRedirectUris: [POST_LOGOUT_REDIRECT_URI],
    grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
    firstParty: options.firstParty ?? false,
  });
  if (!(await server.services.resourceServers.find(API))) {
    await server.services.resourceServers.create({
      identifier: API,
      name: 'Example API',
      isDefault: true,
      // the suites written before roles: every user may be granted the API's scopes
      access: 'open',
      scopes: [{ scope: 'read', description: 'Read your data' }, { scope: 'write', description: 'Change your data' }],
    });
  }
  const username = options.username ?? 'alice';
  const password = 'correct horse battery staple';
  const existing = await server.services.accounts.findByLogin(username);
  const account = existing ?? (await server.services.accounts.create({ username, email: `${username}@example.test`, emailVerified: true, name: 'Alice Example' }, password));
  return { clientId: client.clientId, clientSecret: clientSecret!, username, password, accountId: account.id };
}

/** An openid-client configuration for the fixture's client, discovered from the server. */
export async function discover(server: TestServer, fixture: Pick<Fixture, 'clientId' | 'clientSecret'>): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(server.issuer), fixture.clientId, fixture.clientSecret, oidc.ClientSecretBasic(fixture.clientSecret), {
    execute: [oidc.allowInsecureRequests],
  });
}

export interface AuthorizationStart {
  url: URL;
  verifier: string;
  state: string;
  nonce: string;
}

export async function startAuthorization(config: oidc.Configuration, parameters: Record<string, string> = {}): Promise<AuthorizationStart> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: 'openid profile email offline_access',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    prompt: 'consent',
    ...parameters,
  });
  return { url, verifier, state, nonce };
}

/**
 * Runs the browser part of a sign-in through the real pages with plain HTTP form posts:
 * login form (with its CSRF token), then consent when asked. Returns the callback URL.
 */
export async function signIn(agent: UserAgent, authorizationUrl: URL, fixture: Pick<Fixture, 'username' | 'password'>, options: { consent?: boolean } = {}): Promise<URL> {
  let page = await agent.get(authorizationUrl.toString());
  if (page.status !== 0 && page.html.includes('name="password"')) {
    page = await agent.post(formAction(page.html), { csrf: hiddenField(page.html, 'csrf'), login: fixture.username, password: fixture.password });
  }
  if (page.status !== 0 && page.html.includes('wants to access your account')) {
    if (options.consent === false) {
      page = await agent.post(formAction(page.html, 0), { csrf: hiddenField(page.html, 'csrf') });
    } else {
      page = await agent.post(formAction(page.html, 1), { csrf: hiddenField(page.html, 'csrf') });
    }
  }
  if (page.status !== 0) throw new Error(`sign-in did not reach the callback: ${page.status} ${page.url}\n${page.html.slice(0, 500)}`);
  return new URL(page.url);
}

export async function signInAndExchange(server: TestServer, config: oidc.Configuration, fixture: Fixture, parameters: Record<string, string> = {}, agent = new UserAgent(server.issuer), grantOptions: oidc.DPoPOptions = {}) {
  const start = await startAuthorization(config, parameters);
  const callback = await signIn(agent, start.url, fixture);
  const tokens = await oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: start.verifier,
    expectedState: start.state,
    expectedNonce: start.nonce,
  }, undefined, grantOptions);
  return { tokens, agent, callback, start };
}

export interface SeededServer {
  server: TestServer;
  fixture: Fixture;
  config: oidc.Configuration;
}

/** Starts a seeded server for the enclosing describe block and closes it afterwards. */
export function useSeededServer(backend: BackendName, extraEnv: Record<string, string> = {}): SeededServer {
  const state = {} as SeededServer;
  beforeAll(async () => {
    state.server = await startTestServer(backend, extraEnv);
    state.fixture = await seed(state.server);
    state.config = await discover(state.server, state.fixture);
  });
  afterAll(() => state.server?.close());
  return state;
}
