import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll } from 'vitest';
import type { BackendName } from '../support/backends.ts';
import { REDIRECT_URI, signIn } from '../support/relying-party.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { hiddenField, UserAgent, type Page } from '../support/user-agent.ts';

/**
 * The setup the OpenID Foundation's conformance plans ask of an OP, reproduced in-process: two
 * statically registered confidential clients (client_secret_basic and client_secret_post) that
 * send no PKCE unless a module says so — hence `nonce_instead` — and a user holding every
 * standard claim.
 */
export const POST_LOGOUT = 'http://localhost:8080/logged-out';
export const POST_LOGOUT_WITH_QUERY = 'http://localhost:8080/logged-out?from=op';
export const PASSWORD = 'conformance passphrase 42';

export const PROFILE = {
  name: 'Connie Formance',
  given_name: 'Connie',
  family_name: 'Formance',
  middle_name: 'Q',
  nickname: 'Con',
  website: 'https://connie.example/',
  picture: 'https://connie.example/me.png',
  profile: 'https://connie.example/about',
  gender: 'female',
  birthdate: '1985-06-15',
  zoneinfo: 'Europe/Berlin',
  locale: 'de-DE',
  phone_number: '+4930123456789',
  phone_number_verified: true,
  address: { street_address: 'Beispielstr. 1', locality: 'Berlin', postal_code: '10115', country: 'Germany' },
};

export interface Rp {
  clientId: string;
  config: oidc.Configuration;
}

export interface ConformanceSetup {
  server: TestServer;
  client: Rp;
  client2: Rp;
  accountId: string;
  user: { username: string; password: string };
}

async function register(server: TestServer, name: string, method: 'client_secret_basic' | 'client_secret_post'): Promise<Rp> {
  const { client, clientSecret } = await server.services.clients.create({
    name,
    type: 'confidential',
    redirectUris: [REDIRECT_URI],
    postLogoutRedirectUris: [POST_LOGOUT, POST_LOGOUT_WITH_QUERY],
    grantTypes: ['authorization_code', 'refresh_token'],
    tokenEndpointAuthMethod: method,
    pkcePolicy: 'nonce_instead',
  });
  const auth = method === 'client_secret_basic' ? oidc.ClientSecretBasic(clientSecret!) : oidc.ClientSecretPost(clientSecret!);
  const config = await oidc.discovery(new URL(server.issuer), client.clientId, clientSecret, auth, { execute: [oidc.allowInsecureRequests] });
  return { clientId: client.clientId, config };
}

export function useConformanceSetup(backend: BackendName): ConformanceSetup {
  const setup = {} as ConformanceSetup;
  beforeAll(async () => {
    setup.server = await startTestServer(backend);
    setup.client = await register(setup.server, 'Conformance Client', 'client_secret_basic');
    setup.client2 = await register(setup.server, 'Conformance Client 2', 'client_secret_post');
    const account = await setup.server.services.accounts.create({ username: 'connie', email: 'connie@example.test', emailVerified: true }, PASSWORD);
    await setup.server.services.accounts.updateProfile(account.id, PROFILE);
    setup.accountId = account.id;
    setup.user = { username: 'connie', password: PASSWORD };
  });
  afterAll(() => setup.server?.close());
  return setup;
}

export interface Flow {
  url: URL;
  state: string;
  nonce: string | undefined;
  verifier: string | undefined;
}

/** The request a conformance module sends: code flow, state and nonce, no PKCE. */
export function authorizationRequest(rp: Rp, parameters: Record<string, string | undefined> = {}): Flow {
  const state = oidc.randomState();
  const nonce = 'nonce' in parameters ? parameters.nonce : oidc.randomNonce();
  const all: Record<string, string> = { redirect_uri: REDIRECT_URI, scope: 'openid', state };
  if (nonce !== undefined) all.nonce = nonce;
  for (const [name, value] of Object.entries(parameters)) if (value !== undefined) all[name] = value;
  return { url: oidc.buildAuthorizationUrl(rp.config, all), state, nonce, verifier: undefined };
}

export async function withPkce(rp: Rp, parameters: Record<string, string | undefined> = {}): Promise<Flow> {
  const verifier = oidc.randomPKCECodeVerifier();
  const flow = authorizationRequest(rp, { ...parameters, code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
  return { ...flow, verifier };
}

/** Signs in (and consents) through the pages; returns the callback. */
export function signInThrough(setup: ConformanceSetup, agent: UserAgent, flow: Flow): Promise<URL> {
  return signIn(agent, flow.url, setup.user);
}

/** Follows the request with the browser's cookies and no sign-in; returns where it ends. */
export async function follow(agent: UserAgent, url: URL | string): Promise<Page> {
  return agent.get(url.toString());
}

export function exchange(rp: Rp, callback: URL, flow: Flow) {
  return oidc.authorizationCodeGrant(rp.config, callback, {
    expectedState: flow.state,
    ...(flow.nonce !== undefined ? { expectedNonce: flow.nonce } : {}),
    ...(flow.verifier !== undefined ? { pkceCodeVerifier: flow.verifier } : {}),
  });
}

export async function verifyIdToken(setup: ConformanceSetup, rp: Rp, idToken: string): Promise<{ payload: JWTPayload; kid: string | undefined; alg: string }> {
  const { payload, protectedHeader } = await jwtVerify(idToken, createRemoteJWKSet(new URL('/jwks', setup.server.issuer)), { issuer: setup.server.issuer, audience: rp.clientId, algorithms: ['RS256'] });
  return { payload, kid: protectedHeader.kid, alg: protectedHeader.alg };
}

/** The error an authorization request was answered with: redirected to the client, or on Postern's page. */
export function errorOf(page: Page): { error: string | undefined; redirected: boolean; state?: string | null } {
  if (page.status === 0) {
    const params = new URL(page.url).searchParams;
    return { error: params.get('error') ?? undefined, redirected: true, state: params.get('state') };
  }
  return { error: /<dt>Error<\/dt><dd><code>([a-z_]+)<\/code>/.exec(page.html)?.[1], redirected: false };
}

/** Confirms the sign-out page (the engine's logout form) and returns where the browser lands. */
export async function confirmLogout(agent: UserAgent, page: Page): Promise<Page> {
  const form = /<form[^>]*action="([^"]+)"[^>]*>[\s\S]*?name="xsrf"/.exec(page.html);
  if (!form) throw new Error(`no sign-out form on ${page.url}: ${page.html.slice(0, 300)}`);
  return agent.post(form[1]!.replaceAll('&amp;', '&'), { xsrf: hiddenField(page.html, 'xsrf'), logout: 'yes' });
}
