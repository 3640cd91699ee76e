import { createHash, randomBytes } from 'node:crypto';
import { Browser, formEndingWith, hiddenField, type Page } from './browser.ts';
import type { TargetInfo } from './scenarios.ts';

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in?: number;
  refresh_token?: string;
  id_token?: string;
  scope?: string;
}

export interface FlowOutcome {
  tokens: TokenResponse;
  /** HTTP requests the flow made, the token request included */
  requests: number;
  /** whether the login form was submitted (a password was checked) */
  loggedIn: boolean;
  /** milliseconds per step: `authorize` (GET /auth to the first page or callback), `login`, `consent`, `token` */
  steps: Record<string, number>;
}

type Client = Pick<TargetInfo, 'url' | 'clientId' | 'clientSecret' | 'redirectUri' | 'username' | 'password'>;

/** RFC 6749 §2.3.1: both parts are form-encoded before base64. */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replaceAll('%20', '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
}

function snippet(page: Page): string {
  return `${page.status} ${page.url} ${page.html.replace(/\s+/g, ' ').slice(0, 300)}`;
}

/**
 * One authorization code + PKCE flow through the server's own pages: login form (with its CSRF
 * field) when there is no session, consent form when asked, then the code at the token endpoint.
 */
export async function authorizationCodeFlow(
  browser: Browser,
  client: Client,
  options: { scope: string; prompt?: string },
): Promise<FlowOutcome> {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(12).toString('base64url');
  const authorize = new URL('/auth', client.url);
  authorize.search = new URLSearchParams({
    client_id: client.clientId,
    response_type: 'code',
    redirect_uri: client.redirectUri,
    scope: options.scope,
    state,
    nonce: randomBytes(12).toString('base64url'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...(options.prompt ? { prompt: options.prompt } : {}),
  }).toString();

  const steps: Record<string, number> = {};
  let mark = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    steps[name] = (steps[name] ?? 0) + (now - mark);
    mark = now;
  };
  let page = await browser.follow(authorize.toString());
  lap('authorize');
  let requests = page.requests;
  let loggedIn = false;
  for (let step = 0; step < 4 && page.status !== 0; step += 1) {
    const login = formEndingWith(page.html, '/login');
    const confirm = formEndingWith(page.html, '/confirm');
    if (page.status === 200 && login && !loggedIn) {
      page = await browser.submit(login, { csrf: hiddenField(page.html, 'csrf'), login: client.username, password: client.password });
      loggedIn = true;
      lap('login');
    } else if (page.status === 200 && confirm) {
      page = await browser.submit(confirm, { csrf: hiddenField(page.html, 'csrf') });
      lap('consent');
    } else {
      throw new Error(`sign-in stalled: ${snippet(page)}`);
    }
    requests += page.requests;
  }
  if (page.status !== 0) throw new Error(`sign-in did not reach the callback: ${snippet(page)}`);

  const callback = new URL(page.url);
  const code = callback.searchParams.get('code');
  if (callback.searchParams.get('state') !== state || !code) {
    throw new Error(`bad callback: ${callback.searchParams.get('error') ?? ''} ${callback.searchParams.get('error_description') ?? ''}`);
  }
  const response = await fetch(new URL('/token', client.url), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuthorization(client.clientId, client.clientSecret) },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier }).toString(),
  });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`token endpoint answered ${response.status}: ${body.slice(0, 300)}`);
  lap('token');
  return { tokens: JSON.parse(body) as TokenResponse, requests: requests + 1, loggedIn, steps };
}

export async function clientCredentialsToken(client: Pick<TargetInfo, 'url' | 'clientId' | 'clientSecret'>, scope: string): Promise<TokenResponse> {
  const response = await fetch(new URL('/token', client.url), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuthorization(client.clientId, client.clientSecret) },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope }).toString(),
  });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`client_credentials answered ${response.status}: ${body.slice(0, 300)}`);
  return JSON.parse(body) as TokenResponse;
}

/** Scope of the refresh-token pool: an ID token, a JWT for the API, and a refresh token. */
export const REFRESH_SCOPE = 'openid offline_access read';

/**
 * Refresh tokens obtained through real code flows. `workers` browsers each sign in once (one
 * password check) and then repeat the flow on their session: `offline_access` needs
 * `prompt=consent`, so each later flow passes the consent page instead of the login page.
 */
export async function harvestRefreshTokens(client: Client, count: number, workers: number): Promise<string[]> {
  const tokens: string[] = [];
  let remaining = count;
  await Promise.all(
    Array.from({ length: Math.min(workers, count) }, async () => {
      const browser = new Browser(client.url);
      while (remaining > 0) {
        remaining -= 1;
        const { tokens: issued } = await authorizationCodeFlow(browser, client, { scope: REFRESH_SCOPE, prompt: 'consent' });
        if (!issued.refresh_token) throw new Error('the code flow issued no refresh token');
        tokens.push(issued.refresh_token);
      }
    }),
  );
  return tokens;
}
