/**
 * A tiny relying party for trying Postern: signs a user in with the authorization code flow and
 * PKCE, verifies the ID token and the access token against the issuer's JWKS, and shows the
 * claims. Run it with Node 24 from the repository root:
 *
 *   CLIENT_ID=… CLIENT_SECRET=… npx node examples/relying-party.ts
 *
 * then open http://localhost:8080/. Environment: ISSUER (default http://localhost:3000),
 * CLIENT_ID (required), CLIENT_SECRET (leave unset for a public client), SCOPE (default
 * "openid profile email read": `read` asks for a JWT access token for the default API; with
 * `offline_access` it also sends prompt=consent, which refresh tokens need), PORT (default 8080)
 * and REDIRECT_URI (default http://localhost:$PORT/callback; it must be registered for the client,
 * and its path is where this app takes the callback).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import * as oidc from 'openid-client';

const ISSUER = process.env.ISSUER ?? 'http://localhost:3000';
const CLIENT_ID = process.env.CLIENT_ID;
const CLIENT_SECRET = process.env.CLIENT_SECRET || undefined;
const SCOPE = process.env.SCOPE ?? 'openid profile email read';
const PORT = port(process.env.PORT ?? '8080');
const REDIRECT_URI = process.env.REDIRECT_URI || `http://localhost:${PORT}/callback`;
const CALLBACK_PATH = callbackPath(REDIRECT_URI);
const LOGIN_COOKIE = 'rp_login';
const LOGIN_TTL_MS = 10 * 60 * 1000;

function port(raw: string): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1 || value > 65535) {
    process.stderr.write(`relying-party: PORT must be a port number, got "${raw}"\n`);
    process.exit(2);
  }
  return value;
}

function callbackPath(redirectUri: string): string {
  const url = URL.parse(redirectUri);
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    process.stderr.write(`relying-party: REDIRECT_URI must be an http(s) URL, got "${redirectUri}"\n`);
    process.exit(2);
  }
  return url.pathname;
}

if (!CLIENT_ID) {
  process.stderr.write('relying-party: set CLIENT_ID (and CLIENT_SECRET for a confidential client)\n');
  process.exit(2);
}

let config: oidc.Configuration;
try {
  config = await oidc.discovery(new URL(ISSUER), CLIENT_ID, CLIENT_SECRET, CLIENT_SECRET ? oidc.ClientSecretBasic(CLIENT_SECRET) : oidc.None(), {
    // plain http is for a local issuer only; https issuers need no exception
    execute: new URL(ISSUER).protocol === 'http:' ? [oidc.allowInsecureRequests] : [],
  });
} catch (error) {
  process.stderr.write(`relying-party: cannot discover ${ISSUER}: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
const metadata = config.serverMetadata();
const jwks = createRemoteJWKSet(new URL(metadata.jwks_uri!));

interface PendingLogin {
  codeVerifier: string;
  state: string;
  nonce: string;
  startedAt: number;
}

/** Logins in progress, keyed by a random id kept in an HttpOnly cookie. */
const pending = new Map<string, PendingLogin>();

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function json(value: unknown): string {
  return escapeHtml(JSON.stringify(value, null, 2));
}

function send(res: ServerResponse, status: number, title: string, body: string, headers: Record<string, string> = {}) {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
    // the callback URL carries the authorization code
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(`<!doctype html><html lang="en"><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}pre{background:#f4f4f4;padding:1rem;overflow:auto;white-space:pre-wrap;word-break:break-all}</style>
<h1>${escapeHtml(title)}</h1>${body}<p><a href="/">Sign in again</a></p></html>`);
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

async function startLogin(res: ServerResponse) {
  const now = Date.now();
  for (const [id, login] of pending) if (now - login.startedAt > LOGIN_TTL_MS) pending.delete(id);
  const login: PendingLogin = { codeVerifier: oidc.randomPKCECodeVerifier(), state: oidc.randomState(), nonce: oidc.randomNonce(), startedAt: now };
  const id = randomBytes(16).toString('base64url');
  pending.set(id, login);
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: SCOPE,
    code_challenge: await oidc.calculatePKCECodeChallenge(login.codeVerifier),
    code_challenge_method: 'S256',
    state: login.state,
    nonce: login.nonce,
    // OpenID Connect Core §11: a refresh token needs a consent given for it
    ...(SCOPE.split(' ').includes('offline_access') ? { prompt: 'consent' } : {}),
  });
  res.writeHead(302, {
    location: url.href,
    'set-cookie': `${LOGIN_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${LOGIN_TTL_MS / 1000}`,
    'cache-control': 'no-store',
  });
  res.end();
}

/** The access token's section of the page, and the userinfo claims when the token was for userinfo. */
async function verifyAccessToken(accessToken: string, sub: string): Promise<{ html: string; userinfo?: oidc.UserInfoResponse }> {
  let isJwt = false;
  try {
    isJwt = decodeProtectedHeader(accessToken).typ === 'at+jwt';
  } catch {
    // opaque: not a JWT at all
  }
  if (isJwt) {
    const { payload } = await jwtVerify(accessToken, jwks, { issuer: metadata.issuer, typ: 'at+jwt', algorithms: ['RS256'] });
    return {
      html: `<h2>Access token (RFC 9068 JWT for ${escapeHtml(String(payload.aud))}, verified against the JWKS)</h2><pre>${json(payload)}</pre>
<details><summary>Raw access token (try <code>npx node examples/verify-token.ts TOKEN</code>)</summary><pre>${escapeHtml(accessToken)}</pre></details>`,
    };
  }
  // an opaque token is for the userinfo endpoint; a JWT for an API would be refused there
  const userinfo = await oidc.fetchUserInfo(config, accessToken, sub);
  return { html: `<h2>Access token (opaque: no API scope was asked for); userinfo with it</h2><pre>${json(userinfo)}</pre>`, userinfo };
}

async function finishLogin(req: IncomingMessage, res: ServerResponse) {
  const id = cookie(req, LOGIN_COOKIE);
  const login = id ? pending.get(id) : undefined;
  if (!id || !login) return send(res, 400, 'No sign-in in progress', '<p>This browser did not start a sign-in here, or it expired.</p>');
  pending.delete(id);
  const clearCookie = { 'set-cookie': `${LOGIN_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0` };
  try {
    // the callback URL as the browser sent it, on the registered redirect URI's origin
    const currentUrl = new URL(req.url ?? '/', REDIRECT_URI);
    const tokens = await oidc.authorizationCodeGrant(config, currentUrl, {
      pkceCodeVerifier: login.codeVerifier,
      expectedState: login.state,
      expectedNonce: login.nonce,
      idTokenExpected: true,
    });
    const idToken: JWTPayload = (await jwtVerify(tokens.id_token!, jwks, { issuer: metadata.issuer, audience: CLIENT_ID, algorithms: ['RS256'] })).payload;
    const accessToken = await verifyAccessToken(tokens.access_token, idToken.sub!);
    // with a userinfo token, the ID token carries only `sub`: the profile claims are at userinfo
    const who = accessToken.userinfo?.preferred_username ?? idToken.preferred_username ?? idToken.sub;
    send(
      res,
      200,
      `Signed in as ${String(who)}`,
      `<h2>ID token (verified against ${escapeHtml(metadata.jwks_uri!)})</h2><pre>${json(idToken)}</pre>${accessToken.html}
<p>Scopes asked for: <code>${escapeHtml(SCOPE)}</code>. The access token's scope: <code>${escapeHtml(tokens.scope || '-')}</code>
(the token response's <code>scope</code> is the access token's); the OpenID scopes' claims are in ${accessToken.userinfo ? 'the userinfo response' : 'the ID token'} above.
${tokens.refresh_token ? 'A refresh token was issued.' : 'No refresh token was issued (it needs <code>offline_access</code>).'}</p>`,
      clearCookie,
    );
  } catch (error) {
    const message = error instanceof oidc.AuthorizationResponseError ? `${error.error}: ${error.error_description ?? ''}` : error instanceof Error ? error.message : String(error);
    send(res, 400, 'Sign-in failed', `<pre>${escapeHtml(message)}</pre>`, clearCookie);
  }
}

createServer((req, res) => {
  const path = new URL(req.url ?? '/', REDIRECT_URI).pathname;
  const handled = path === '/' ? startLogin(res) : path === CALLBACK_PATH ? finishLogin(req, res) : Promise.resolve(send(res, 404, 'Not found', ''));
  handled.catch((error: unknown) => {
    if (!res.headersSent) send(res, 500, 'Error', `<pre>${escapeHtml(error instanceof Error ? error.message : String(error))}</pre>`);
  });
}).listen(PORT, 'localhost', () => {
  process.stdout.write(`relying party for ${CLIENT_ID} at http://localhost:${PORT}/ (issuer ${metadata.issuer}, redirect URI ${REDIRECT_URI})\n`);
});
