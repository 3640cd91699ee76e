/**
 * The baseline: a bare oidc-provider 9 configured like Postern (same client, same token formats,
 * same RS256, same argon2id parameters at login), with the engine's own in-memory adapter and a
 * minimal interaction handler. Nothing else: no storage tiers, no logs, no audit, no pages.
 *
 * Environment: BASELINE_PORT, BASELINE_ISSUER, BENCH_CLIENT_ID, BENCH_CLIENT_SECRET,
 * BENCH_REDIRECT_URI, BENCH_USERNAME, BENCH_PASSWORD, BENCH_API.
 */
import argon2 from 'argon2';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import { errors, Provider, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import LRU from 'oidc-provider/lib/helpers/lru.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new TypeError(`${name} is not set`);
  return value;
}

const port = Number(required('BASELINE_PORT'));
const issuer = required('BASELINE_ISSUER');
const clientId = required('BENCH_CLIENT_ID');
const username = required('BENCH_USERNAME');
const api = required('BENCH_API');

// the same argon2id parameters as Postern's defaults (OWASP: m=19 MiB, t=2, p=1)
const ARGON2 = { type: argon2.argon2id as 2, memoryCost: 19456, timeCost: 2, parallelism: 1 };
const passwordHash = await argon2.hash(required('BENCH_PASSWORD'), ARGON2);
const ACCOUNT_ID = '00000000-0000-4000-8000-000000000001';
const ACCOUNT_CLAIMS = {
  sub: ACCOUNT_ID,
  preferred_username: username,
  name: 'Bench User',
  email: `${username}@bench.test`,
  email_verified: true,
  updated_at: Math.floor(Date.now() / 1000),
};

const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
const signingKey = { ...(await exportJWK(privateKey)), kid: 'baseline', alg: 'RS256', use: 'sig' };

// The engine's memory adapter keeps at most 1,000 entries (an LRU); the refresh-token pool alone is
// larger, so the same adapter gets a bigger store. Same code path, no eviction during a run.
const store = new LRU({ maxSize: 5_000_000 });

function requestedScopes(ctx: KoaContextWithOIDC): string[] {
  return String(ctx.oidc.params?.scope ?? '').split(' ').filter(Boolean);
}

// Postern's first-party recipe (src/oidc/configuration/first-party-consent.ts), for a like-for-like flow
async function loadExistingGrant(ctx: KoaContextWithOIDC) {
  const { client, session, params, provider } = ctx.oidc;
  if (!client || !session?.accountId) return undefined;
  const grantId = ctx.oidc.result?.consent?.grantId ?? session.grantIdFor(client.clientId);
  if (grantId) {
    const existing = await provider.Grant.find(grantId);
    if (existing) return existing;
  }
  const grant = new provider.Grant({ clientId: client.clientId, accountId: session.accountId });
  grant.addOIDCScope(typeof params?.scope === 'string' ? params.scope : '');
  for (const [identifier, server] of Object.entries(ctx.oidc.resourceServers ?? {})) grant.addResourceScope(identifier, server.scope);
  await grant.save();
  return grant;
}

const configuration: Configuration = {
  adapter: (model: string) => new MemoryAdapter(model, store),
  clients: [
    {
      client_id: clientId,
      client_secret: required('BENCH_CLIENT_SECRET'),
      client_name: 'Bench App',
      redirect_uris: [required('BENCH_REDIRECT_URI')],
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: { keys: [signingKey] },
  findAccount: async (_ctx, sub) => (sub === ACCOUNT_ID ? { accountId: sub, claims: async () => ACCOUNT_CLAIMS } : undefined),
  claims: {
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username', 'updated_at'],
    email: ['email', 'email_verified'],
  },
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  responseTypes: ['code'],
  pkce: { required: () => true },
  rotateRefreshToken: true,
  cookies: {
    keys: [randomBytes(32).toString('base64url')],
    long: { signed: true, httpOnly: true, sameSite: 'lax' },
    short: { signed: true, httpOnly: true, sameSite: 'lax' },
  },
  ttl: {
    AccessToken: 3600,
    ClientCredentials: 3600,
    AuthorizationCode: 60,
    IdToken: 3600,
    RefreshToken: 14 * 24 * 3600,
    Session: 14 * 24 * 3600,
    Interaction: 3600,
    Grant: 14 * 24 * 3600,
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  loadExistingGrant,
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    userinfo: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // like Postern: the default API only when one of its scopes is asked for
      defaultResource: (ctx) => (requestedScopes(ctx).includes('read') ? api : undefined),
      getResourceServerInfo: (_ctx, indicator) => {
        if (indicator !== api) throw new errors.InvalidTarget();
        return { scope: 'read', audience: api, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
      },
      useGrantedResource: () => true,
    },
  },
};

const provider = new Provider(issuer, configuration);
const engine = provider.callback();

// ---- the minimal interaction handler: a login form with a CSRF field, a consent form ----

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const index = part.indexOf('=');
    if (part.slice(0, index).trim() === name) return part.slice(index + 1).trim();
  }
  return undefined;
}

async function form(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function page(res: ServerResponse, status: number, csrf: string, body: string) {
  res.statusCode = status;
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.setHeader('set-cookie', `csrf=${csrf}; path=/; httponly; samesite=lax`);
  res.end(`<!doctype html><title>baseline</title><main>${body}</main>`);
}

function csrfValid(req: IncomingMessage, fields: URLSearchParams): boolean {
  const expected = cookie(req, 'csrf') ?? '';
  const given = fields.get('csrf') ?? '';
  return expected.length > 0 && given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}

async function interaction(req: IncomingMessage, res: ServerResponse) {
  const [, , uid, action] = (req.url ?? '').split('?')[0]!.split('/');
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new errors.InvalidRequest('interaction mismatch');
  if (req.method === 'GET') {
    const csrf = cookie(req, 'csrf') ?? randomBytes(32).toString('base64url');
    const field = `<input type="hidden" name="csrf" value="${csrf}">`;
    if (details.prompt.name === 'login') {
      page(res, 200, csrf, `<form method="post" action="/interaction/${uid}/login">${field}<input name="login"><input name="password" type="password"></form>`);
    } else {
      page(res, 200, csrf, `<form method="post" action="/interaction/${uid}/confirm">${field}<button>Allow</button></form>`);
    }
    return;
  }
  const fields = await form(req);
  if (!csrfValid(req, fields)) throw new errors.InvalidRequest('csrf');
  if (action === 'login') {
    const ok = fields.get('login') === username && (await argon2.verify(passwordHash, fields.get('password') ?? ''));
    if (!ok) throw new errors.AccessDenied('wrong credentials');
    await provider.interactionFinished(req, res, { login: { accountId: ACCOUNT_ID, amr: ['pwd'] } }, { mergeWithLastSubmission: false });
    return;
  }
  const accountId = details.session?.accountId;
  if (!accountId) throw new errors.InvalidRequest('no session');
  const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId, clientId: String(details.params.client_id) });
  if (!grant) throw new errors.InvalidRequest('grant expired');
  const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
  if (missing.missingOIDCScope?.length) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims?.length) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: details.grantId ? {} : { grantId } }, { mergeWithLastSubmission: true });
}

const server = createServer((req, res) => {
  if (!req.url?.startsWith('/interaction/')) {
    void engine(req, res);
    return;
  }
  interaction(req, res).catch((error: { status?: number; message?: string }) => {
    if (res.headersSent) return;
    res.statusCode = error.status ?? 500;
    res.end(String(error.message));
  });
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`baseline listening on ${issuer}\n`));
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
