import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { contrast, parseHexColour, WHITE } from './brand/colours.ts';
import { sniffImage, type ImageType } from './brand/logo-type.ts';

/**
 * The one place that reads the environment. Everything else receives a frozen `Config`.
 * Every variable is listed in the README's configuration table.
 */

export type RunMode = 'development' | 'production' | 'test';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface TokenLifetimes {
  /** seconds; default 3600 */
  accessToken: number;
  /** seconds; default 3600 */
  idToken: number;
  /** seconds; default 14 days */
  refreshToken: number;
  /** seconds; default 60 */
  authorizationCode: number;
  /** seconds; default 14 days */
  session: number;
  /** seconds; default 3600 */
  interaction: number;
  /** seconds; default 3600 */
  clientCredentials: number;
  /** seconds a device code (and its user code) stays valid; default 600 */
  deviceCode: number;
}

export interface Argon2Parameters {
  /** KiB; default 19456 (19 MiB, OWASP) */
  memoryCost: number;
  /** iterations; default 2 */
  timeCost: number;
  /** lanes; default 1 */
  parallelism: number;
}

/** At most `limit` requests per `windowSeconds`, counted per client IP and, separately, per client_id. */
export interface RateLimit {
  limit: number;
  windowSeconds: number;
}

export const RATE_LIMITED_ENDPOINTS = ['token', 'introspection', 'revocation', 'userinfo', 'login', 'registration', 'client_registration', 'password_reset', 'admin', 'device_authorization', 'device'] as const;
export type RateLimitedEndpoint = (typeof RATE_LIMITED_ENDPOINTS)[number];

const DEFAULT_RATE_LIMITS: Record<RateLimitedEndpoint, string> = {
  token: '600/1m',
  introspection: '1200/1m',
  revocation: '300/1m',
  userinfo: '600/1m',
  login: '30/1m',
  registration: '10/1h',
  client_registration: '30/1h',
  password_reset: '10/1h',
  admin: '300/1m',
  device_authorization: '60/1m',
  device: '30/1m',
};

export interface LockoutPolicy {
  /** failed passwords or codes for one account (from browsers without its device cookie) before waits begin; default 10 */
  accountThreshold: number;
  /** failures from one client IP, whatever the account, before waits begin; default 100 */
  ipThreshold: number;
  /** seconds added to the wait by each failure past the threshold; default 60 */
  stepSeconds: number;
  /** longest wait, seconds; default 900 */
  maxSeconds: number;
  /** seconds after the last failure when the count starts again; default 3600 */
  windowSeconds: number;
}

export interface SignInSecurity {
  /** minimum password length in characters (NFKC); default 12 */
  passwordMinLength: number;
  lockout: LockoutPolicy;
  /** per endpoint; null = no limit */
  rateLimits: Record<RateLimitedEndpoint, RateLimit | null>;
  /** self-service registration at /register; default off */
  registration: boolean;
  /** seconds a password reset link stays valid; default 1800 */
  passwordResetTtl: number;
  /** seconds an email verification link stays valid; default 86400 */
  emailVerificationTtl: number;
  /** issuer label authenticator apps show next to the account; default the issuer's host */
  totpIssuer: string;
  /** what a passkey ceremony asks of the authenticator's user verification (PIN, biometrics); default 'required' */
  passkeyUserVerification: 'required' | 'preferred' | 'discouraged';
}

export interface MailSettings {
  /** smtp:// or smtps:// URL (user:password@host:port); undefined: no SMTP */
  smtpUrl: string | undefined;
  from: string;
  /** directory where every outgoing message is also written as a JSON file; undefined: none */
  outboxDir: string | undefined;
  /** write every message's text, one-time links included, to the log; default false in every mode */
  logLinks: boolean;
}

/** How the process meets slow clients, outages of its storage and deploys. */
export interface Resilience {
  /** seconds a rotated refresh token may be presented again by its client for the same successor; 0 = never; default 30 */
  refreshReuseIntervalSeconds: number;
  /** ms a storage call (Redis command, PostgreSQL connect or pool wait) may take before it fails as unavailable; default 750 */
  storageTimeoutMs: number;
  /** seconds after SIGTERM during which /readyz says not ready but connections are still accepted; default 3 */
  shutdownDelaySeconds: number;
  /** seconds in-flight requests may take to finish once accepting stops, before the process exits anyway; default 25 */
  shutdownTimeoutSeconds: number;
  /** seconds a client has to send its request headers; default 10 */
  headersTimeoutSeconds: number;
  /** seconds a client has to send its whole request, body included; default 30 */
  requestTimeoutSeconds: number;
  /** seconds an idle keep-alive connection stays open; default 65 (longer than common load balancers' 60) */
  keepAliveTimeoutSeconds: number;
}

/** How signing keys move next → current → previous → retired (see src/domain/signing-keys.ts). */
export interface SigningKeyPolicy {
  /** seconds a key signs before the schedule replaces it; null: only `postern keys rotate`; default 90 days */
  rotationIntervalSeconds: number | null;
  /** seconds between each process's look at the keys (the backstop to the change announcements); default 60 */
  checkIntervalSeconds: number;
  /** seconds relying parties may cache the JWKS (its Cache-Control max-age); default 300 */
  jwksMaxAgeSeconds: number;
}

/** Metrics and traces; all off by default. */
export interface Observability {
  /** port of a listener serving only GET /metrics, without authentication; undefined: none */
  metricsPort: number | undefined;
  /** bearer token for GET /metrics on the main port; undefined: not served there */
  metricsToken: string | undefined;
  /** OTLP/HTTP endpoint (traces go to `<endpoint>/v1/traces`); undefined: no tracing, nothing loaded */
  otlpEndpoint: string | undefined;
  /** the service.name traces carry; default "postern" */
  serviceName: string;
}

/** The device authorization grant (RFC 8628): /device/auth for devices, /device for people. */
export interface DeviceFlowSettings {
  /** default off: each deployment opts in to the remote-phishing risk of RFC 8628 §5.4 */
  enabled: boolean;
  /** seconds a device must wait between polls of the token endpoint (`interval`); default 5 */
  pollIntervalSeconds: number;
  /** wrong user codes from one browser before it may enter none; default 10 */
  browserFailureThreshold: number;
  /** wrong user codes from one client IP (whatever the browser) before it may enter none; default 50 */
  ipFailureThreshold: number;
  /** seconds a lock lasts, counted from the first failure of its window; default 900 */
  lockSeconds: number;
}

/** Back-Channel Logout deliveries: how long each attempt may take and how failures are retried. */
export interface BackchannelLogoutSettings {
  /** seconds before the first retry, doubling for each later one (at most an hour); default 10 */
  retryBaseSeconds: number;
  /** attempts before a delivery is given up as failed; default 10 */
  maxAttempts: number;
  /** seconds after the session ended beyond which no attempt is made; default 86400 */
  maxAgeSeconds: number;
  /** seconds one delivery may take; default 5 */
  timeoutSeconds: number;
  /** seconds between looks for due deliveries; default 5 */
  pollSeconds: number;
}

/** The operator's look on every page and mail; each part absent keeps Postern's own. */
export interface BrandSettings {
  /** the product name on pages and in mails; default "Postern" */
  name: string;
  /** the logo file's bytes, read at startup (PNG, WebP or SVG) */
  logo: { body: Buffer; type: ImageType } | undefined;
  /** `#rrggbb` button colours for light and dark pages; undefined: Postern's */
  accent: { light: string; dark: string } | undefined;
  /** an https/http URL or a mailto: address, linked in the footer */
  supportUrl: string | undefined;
}

export const BRAND_LOGO_MAX_BYTES = 512 * 1024;
/** off | initial access token required | open to native apps with loopback or private-use redirect URIs */
export type ClientRegistrationMode = 'off' | 'token' | 'open-native';
export const CLIENT_REGISTRATION_MODES: readonly ClientRegistrationMode[] = ['off', 'token', 'open-native'];
export const REGISTRABLE_GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const;

/** Dynamic client registration (RFC 7591/7592) and what a registration may ask for. */
export interface ClientRegistrationSettings {
  /** default off */
  mode: ClientRegistrationMode;
  /** redirect URIs a registration may use (`*` wildcards); empty: any the mode allows */
  redirectUriPatterns: string[];
  /** default authorization_code, refresh_token */
  grantTypes: Array<(typeof REGISTRABLE_GRANT_TYPES)[number]>;
  /** scopes a registration may ask for (and gets when it names none); default openid profile email offline_access */
  scopes: string[];
  /** seconds after which a registration that never got a token is removed; null: never; default one day */
  unusedTtlSeconds: number | null;
}

/** Client ID metadata documents: a client_id that is an https URL names the client's own metadata. */
export interface ClientMetadataDocumentSettings {
  /** default false */
  enabled: boolean;
  /** hosts a client_id URL may name: exact names or `*.example.com` (any name below it) */
  hosts: string[];
  /** a PEM file of extra CA certificates trusted for the fetch (besides the system's) */
  caFile: string | undefined;
  /** FOR TESTS ONLY: fetch from loopback and private addresses too; refused in production */
  allowPrivateAddressesForTesting: boolean;
}

/** Sender-constrained tokens and pushed requests (see the README, "Modern OAuth"). */
export interface ProtocolPolicy {
  /** every DPoP proof carries a nonce the server chose (RFC 9449 §8); default true */
  dpopRequireNonce: boolean;
  /** every client pushes its authorization requests first (RFC 9126); default false */
  requirePar: boolean;
}

export interface Config {
  mode: RunMode;
  issuer: string;
  host: string;
  port: number;
  /** postgres:// URL; undefined selects embedded PGlite in `dataDir` */
  databaseUrl: string | undefined;
  dataDir: string;
  /** REDIS_URL as given; undefined selects the in-process store */
  redisUrl: string | undefined;
  /** REDIS_URL parsed: one server, a Cluster or a Sentinel-watched master */
  redis: RedisConnection | undefined;
  /** key prefix for everything Postern writes to Redis */
  redisPrefix: string;
  /** base64 master key from the environment, or undefined */
  masterKey: Buffer | undefined;
  masterKeyFile: string | undefined;
  /** the master key used so far, still accepted for reading while secrets are sealed again under the new one */
  masterKeyPrevious: Buffer | undefined;
  masterKeyPreviousFile: string | undefined;
  keysDir: string;
  /** newest first (Keygrip order); empty means derive from the master key (development only) */
  cookieKeys: string[];
  ttl: TokenLifetimes;
  trustProxy: boolean;
  logLevel: LogLevel;
  argon2: Argon2Parameters;
  /** seconds between sweeps of expired rows in the durable tier */
  purgeIntervalSeconds: number;
  /** seconds a process keeps client and API registrations read from the database; 0 = no cache */
  cacheTtlSeconds: number;
  /** seconds grants, sessions and accounts stay in the shared (KV) cache; 0 turns it off */
  recordCacheTtlSeconds: number;
  security: SignInSecurity;
  mail: MailSettings;
  resilience: Resilience;
  /** processes serving the port (node:cluster); 1 = this process alone; default 1 */
  workers: number;
  signingKeys: SigningKeyPolicy;
  observability: Observability;
  backchannelLogout: BackchannelLogoutSettings;
  deviceFlow: DeviceFlowSettings;
  brand: BrandSettings;
  clientRegistration: ClientRegistrationSettings;
  clientMetadataDocuments: ClientMetadataDocumentSettings;
  protocol: ProtocolPolicy;
}

export interface RedisNode {
  host: string;
  port: number;
}

interface RedisCredentials {
  tls: boolean;
  username: string | undefined;
  password: string | undefined;
}

/** Where the ephemeral tier lives (see the README, "Scaling"). */
export type RedisConnection =
  | { mode: 'standalone'; url: string }
  | ({ mode: 'cluster'; nodes: RedisNode[] } & RedisCredentials)
  | ({
      mode: 'sentinel';
      sentinels: RedisNode[];
      /** the master's name in the Sentinels' configuration */
      name: string;
      db: number;
      sentinelUsername: string | undefined;
      sentinelPassword: string | undefined;
    } & RedisCredentials);

/** The servers a connection names, for logs and errors: never its credentials. */
export function describeRedis(connection: RedisConnection): string {
  if (connection.mode === 'standalone') return new URL(connection.url).host;
  const nodes = (connection.mode === 'cluster' ? connection.nodes : connection.sentinels).map((node) => `${node.host}:${node.port}`).join(',');
  return connection.mode === 'cluster' ? `cluster ${nodes}` : `sentinel ${nodes} (master ${connection.name})`;
}

/** A configuration mistake: reported as one line at startup, never as a stack trace. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function integer(env: Env, name: string, fallback: number, min = 1, max = 10 * 365 * 24 * 3600): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min) throw new ConfigError(`${name} must be at least ${min}, got ${value}`);
  if (value > max) throw new ConfigError(`${name} must be at most ${max}, got ${raw}`);
  return value;
}

function oneOf<T extends string>(env: Env, name: string, choices: readonly T[], fallback: T): T {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  const found = choices.find((choice) => choice === raw);
  if (!found) throw new ConfigError(`${name} must be one of ${choices.join(', ')}, got "${env[name]}"`);
  return found;
}

function flag(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${env[name]}"`);
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a valid URL`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name} must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
  }
  return raw;
}

const MULTI_NODE_URL = /^(rediss?)\+(cluster|sentinel):\/\/(?:([^@/?#]*)@)?([^/?#]+)(\/[^?#]*)?(?:\?([^#]*))?$/;

function redisNodes(list: string, defaultPort: number): RedisNode[] {
  return list.split(',').map((entry) => {
    let parsed: URL;
    try {
      parsed = new URL(`redis://${entry.trim()}`);
    } catch {
      throw new ConfigError(`REDIS_URL: "${entry}" is not a host:port`);
    }
    if (parsed.hostname === '' || parsed.username || parsed.pathname) throw new ConfigError(`REDIS_URL: "${entry}" is not a host:port`);
    return { host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'), port: parsed.port ? Number(parsed.port) : defaultPort };
  });
}

/**
 * `redis://` and `rediss://` name one server; `redis+cluster://[user:password@]host:port,host:port/`
 * a Redis Cluster by some of its nodes; `redis+sentinel://[user:password@]host:port,…/[db]?name=<master>`
 * a master watched by Sentinels (`sentinel_username`, `sentinel_password` when the Sentinels ask
 * for their own). `rediss+…` speaks TLS to every node.
 */
export function parseRedisUrl(raw: string): RedisConnection {
  const match = MULTI_NODE_URL.exec(raw);
  if (!match) {
    if (/^rediss?\+/i.test(raw)) {
      throw new ConfigError('REDIS_URL: write a Redis Cluster as redis+cluster://host:port,host:port/ and Sentinels as redis+sentinel://host:port,host:port/?name=mymaster');
    }
    url({ REDIS_URL: raw }, 'REDIS_URL', ['redis:', 'rediss:']);
    return { mode: 'standalone', url: raw };
  }
  const [, scheme, mode, userinfo, hosts, path = '', query = ''] = match;
  const [username, password] = (userinfo ?? '').split(/:(.*)/s).map((part) => (part ? decodeURIComponent(part) : undefined));
  const credentials: RedisCredentials = { tls: scheme === 'rediss', username, password };
  const parameters = new URLSearchParams(query);
  if (mode === 'cluster') {
    if (path.replace(/\/$/, '') !== '') throw new ConfigError('REDIS_URL: a Redis Cluster has no database number (nothing after the hosts but "/")');
    if (query !== '') throw new ConfigError(`REDIS_URL: a cluster URL takes no parameters, got "?${query}"`);
    return { mode: 'cluster', nodes: redisNodes(hosts!, 6379), ...credentials };
  }
  const name = parameters.get('name');
  if (!name) throw new ConfigError('REDIS_URL: a Sentinel URL names its master: redis+sentinel://host:26379,…/?name=mymaster');
  const unknown = [...parameters.keys()].filter((key) => !['name', 'sentinel_username', 'sentinel_password'].includes(key));
  if (unknown.length > 0) throw new ConfigError(`REDIS_URL: unknown Sentinel URL parameter ${unknown.join(', ')}`);
  const db = path.replace(/^\/|\/$/g, '');
  if (!/^\d*$/.test(db)) throw new ConfigError(`REDIS_URL: the database must be a number, got "${db}"`);
  return {
    mode: 'sentinel',
    sentinels: redisNodes(hosts!, 26379),
    name,
    db: Number(db || 0),
    sentinelUsername: parameters.get('sentinel_username') ?? undefined,
    sentinelPassword: parameters.get('sentinel_password') ?? undefined,
    ...credentials,
  };
}

/** `--workers N` on the command line stands for POSTERN_WORKERS=N; nothing else is accepted there. */
export function withArguments(env: Env, argv: readonly string[]): Env {
  const merged = { ...env };
  for (let i = 0; i < argv.length; i += 1) {
    const match = /^--workers(?:=(.*))?$/.exec(argv[i]!);
    if (!match) throw new ConfigError(`unknown argument "${argv[i]}" (the server takes --workers N; everything else is set in the environment)`);
    const value = match[1] ?? argv[(i += 1)];
    if (value === undefined) throw new ConfigError('--workers needs a number');
    merged.POSTERN_WORKERS = value;
  }
  return merged;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600 };

/** "5/5s", "600/1m", "10/h", or "off". */
export function parseRateLimit(raw: string, name = 'rate limit'): RateLimit | null {
  const text = raw.trim().toLowerCase();
  if (text === 'off') return null;
  const match = /^(\d+)\s*\/\s*(\d*)\s*(s|m|h)$/.exec(text);
  const limit = Number(match?.[1]);
  const windowSeconds = Number(match?.[2] || 1) * (UNIT_SECONDS[match?.[3] ?? ''] ?? NaN);
  if (!match || !(limit >= 1) || !(windowSeconds >= 1) || windowSeconds > 86400) {
    throw new ConfigError(`${name} must look like "5/5s", "600/1m" or "10/h" (at most one day), or "off"; got "${raw}"`);
  }
  return { limit, windowSeconds };
}

function rateLimitsFrom(env: Env): Record<RateLimitedEndpoint, RateLimit | null> {
  const limits = {} as Record<RateLimitedEndpoint, RateLimit | null>;
  for (const endpoint of RATE_LIMITED_ENDPOINTS) {
    const name = `POSTERN_RATE_LIMIT_${endpoint.toUpperCase()}`;
    limits[endpoint] = parseRateLimit(env[name] || DEFAULT_RATE_LIMITS[endpoint], name);
  }
  return limits;
}

function masterKeyFrom(env: Env, name = 'POSTERN_MASTER_KEY'): Buffer | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const key = Buffer.from(raw, 'base64');
  if (key.length !== 32) {
    throw new ConfigError(`${name} must be 32 random bytes, base64-encoded (openssl rand -base64 32)`);
  }
  return key;
}

const DURATION_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** "90d", "12h", "30m", "45s" or whole seconds; "off" gives null. */
export function parseDuration(raw: string, name: string): number | null {
  const text = raw.trim().toLowerCase();
  if (text === 'off') return null;
  const match = /^(\d+)\s*(s|m|h|d)?$/.exec(text);
  const seconds = match ? Number(match[1]) * DURATION_SECONDS[match[2] ?? 's']! : NaN;
  if (!(seconds >= 1) || seconds > 10 * 365 * 86400) {
    throw new ConfigError(`${name} must look like "90d", "12h", "30m" or "45s" (at most ten years), or "off"; got "${raw}"`);
  }
  return seconds;
}

function cookieKeysFrom(env: Env): string[] {
  const raw = env.POSTERN_COOKIE_KEYS;
  if (raw === undefined || raw.trim() === '') return [];
  const keys = raw.split(',').map((key) => key.trim()).filter(Boolean);
  for (const key of keys) {
    if (key.length < 32) throw new ConfigError('each POSTERN_COOKIE_KEYS entry must be at least 32 characters');
  }
  return keys;
}

function observabilityFrom(env: Env): Observability {
  const metricsToken = env.POSTERN_METRICS_TOKEN || undefined;
  if (metricsToken !== undefined && !/^[\x21-\x7e]{32,}$/.test(metricsToken)) {
    throw new ConfigError('POSTERN_METRICS_TOKEN must be at least 32 printable characters without spaces (openssl rand -hex 32)');
  }
  return {
    metricsPort: env.POSTERN_METRICS_PORT ? integer(env, 'POSTERN_METRICS_PORT', 0, 0, 65535) : undefined,
    metricsToken,
    otlpEndpoint: url(env, 'OTEL_EXPORTER_OTLP_ENDPOINT', ['http:', 'https:'])?.replace(/\/+$/, ''),
    serviceName: env.OTEL_SERVICE_NAME || 'postern',
  };
}

function brandLogoFrom(env: Env, cwd: string): BrandSettings['logo'] {
  const raw = env.POSTERN_BRAND_LOGO;
  if (raw === undefined || raw === '') return undefined;
  const path = resolve(cwd, raw);
  let body: Buffer;
  try {
    body = readFileSync(path);
  } catch (error) {
    throw new ConfigError(`POSTERN_BRAND_LOGO: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
  if (body.length === 0 || body.length > BRAND_LOGO_MAX_BYTES) {
    throw new ConfigError(`POSTERN_BRAND_LOGO: ${path} must be 1 byte to ${BRAND_LOGO_MAX_BYTES / 1024} KiB, it is ${Math.ceil(body.length / 1024)} KiB`);
  }
  const type = sniffImage(body);
  if (type !== 'image/png' && type !== 'image/webp' && type !== 'image/svg+xml') {
    throw new ConfigError(`POSTERN_BRAND_LOGO: ${path} is not a PNG, WebP or SVG image`);
  }
  return { body, type };
}

// the card behind the buttons in style.css, light and dark
const CARD = { light: WHITE, dark: '#181c24' };

function accentFrom(env: Env, name: string, which: keyof typeof CARD): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const colour = parseHexColour(raw);
  if (!colour) throw new ConfigError(`${name} must be a hex colour like #3b5bdb, got "${raw}"`);
  // WCAG 1.4.11: the button and the focused field's border must stand out from the card (3:1);
  // the button's text is picked to reach 4.5:1, see src/brand/stylesheet.ts
  const card = CARD[which];
  const ratio = contrast(colour, card);
  if (ratio < 3) {
    throw new ConfigError(
      `${name}=${colour} has a contrast of ${ratio.toFixed(2)}:1 with the ${which} page's card (${card}); buttons need at least 3:1 (WCAG 1.4.11)` +
        (which === 'light' ? ': choose a darker colour' : ': choose a lighter colour, or set POSTERN_BRAND_ACCENT_DARK for dark pages'),
    );
  }
  return colour;
}

function brandFrom(env: Env, cwd: string): BrandSettings {
  const name = (env.POSTERN_BRAND_NAME ?? '').trim();
  if (name.length > 60 || /[\u0000-\u001f\u007f]/.test(name)) throw new ConfigError('POSTERN_BRAND_NAME must be at most 60 characters, without control characters');
  const light = accentFrom(env, 'POSTERN_BRAND_ACCENT', 'light');
  const darkOwn = env.POSTERN_BRAND_ACCENT_DARK;
  if (!light && darkOwn) throw new ConfigError('POSTERN_BRAND_ACCENT_DARK needs POSTERN_BRAND_ACCENT as well');
  const dark = light ? (accentFrom(env, darkOwn ? 'POSTERN_BRAND_ACCENT_DARK' : 'POSTERN_BRAND_ACCENT', 'dark') ?? light) : undefined;
  const support = env.POSTERN_BRAND_SUPPORT_URL;
  let supportUrl: string | undefined;
  if (support) {
    supportUrl = url(env, 'POSTERN_BRAND_SUPPORT_URL', ['https:', 'http:', 'mailto:']);
  }
  return { name: name || 'Postern', logo: brandLogoFrom(env, cwd), accent: light && dark ? { light, dark } : undefined, supportUrl };
}

/** A name as an RFC 5322 display name: quoted when it holds anything but letters, digits and spaces. */
function mailDisplayName(name: string): string {
  return /^[\p{L}\p{N} ]+$/u.test(name) ? name : `"${name.replace(/["\\]/g, '\\$&')}"`;
}

function listFrom(raw: string | undefined, separator: RegExp): string[] {
  return (raw ?? '').split(separator).map((entry) => entry.trim()).filter(Boolean);
}

function clientRegistrationFrom(env: Env): ClientRegistrationSettings {
  const mode = (env.POSTERN_CLIENT_REGISTRATION || 'off').toLowerCase() as ClientRegistrationMode;
  if (!CLIENT_REGISTRATION_MODES.includes(mode)) {
    throw new ConfigError(`POSTERN_CLIENT_REGISTRATION must be one of ${CLIENT_REGISTRATION_MODES.join(', ')}, got "${env.POSTERN_CLIENT_REGISTRATION}"`);
  }
  const redirectUriPatterns = listFrom(env.POSTERN_CLIENT_REGISTRATION_REDIRECT_URIS, /[\s,]+/);
  for (const pattern of redirectUriPatterns) {
    if (!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(pattern)) throw new ConfigError(`POSTERN_CLIENT_REGISTRATION_REDIRECT_URIS: "${pattern}" does not start with a scheme`);
  }
  const grantTypes = listFrom(env.POSTERN_CLIENT_REGISTRATION_GRANT_TYPES || 'authorization_code,refresh_token', /[\s,]+/);
  for (const grantType of grantTypes) {
    if (!(REGISTRABLE_GRANT_TYPES as readonly string[]).includes(grantType)) {
      throw new ConfigError(`POSTERN_CLIENT_REGISTRATION_GRANT_TYPES: unknown grant type "${grantType}" (allowed: ${REGISTRABLE_GRANT_TYPES.join(', ')})`);
    }
  }
  const scopes = listFrom(env.POSTERN_CLIENT_REGISTRATION_SCOPES || 'openid profile email offline_access', /[\s,]+/);
  for (const scope of scopes) {
    if (!/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(scope)) throw new ConfigError(`POSTERN_CLIENT_REGISTRATION_SCOPES: "${scope}" is not a scope token`);
  }
  return {
    mode,
    redirectUriPatterns,
    grantTypes: grantTypes as ClientRegistrationSettings['grantTypes'],
    scopes,
    unusedTtlSeconds: parseDuration(env.POSTERN_CLIENT_REGISTRATION_UNUSED_TTL || '1d', 'POSTERN_CLIENT_REGISTRATION_UNUSED_TTL'),
  };
}

const HOST_ENTRY = /^(\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function clientMetadataDocumentsFrom(env: Env, mode: RunMode, cwd: string): ClientMetadataDocumentSettings {
  const enabled = flag(env, 'POSTERN_CLIENT_METADATA_DOCUMENTS', false);
  const hosts = listFrom(env.POSTERN_CLIENT_METADATA_DOCUMENT_HOSTS?.toLowerCase(), /[\s,]+/);
  for (const host of hosts) {
    if (!HOST_ENTRY.test(host)) throw new ConfigError(`POSTERN_CLIENT_METADATA_DOCUMENT_HOSTS: "${host}" is not a host name or *.domain`);
  }
  if (enabled && hosts.length === 0) {
    throw new ConfigError('POSTERN_CLIENT_METADATA_DOCUMENTS=true needs POSTERN_CLIENT_METADATA_DOCUMENT_HOSTS: the hosts whose client_id URLs are fetched');
  }
  const allowPrivateAddressesForTesting = flag(env, 'POSTERN_CLIENT_METADATA_DOCUMENT_ALLOW_PRIVATE_ADDRESSES_FOR_TESTING', false);
  if (allowPrivateAddressesForTesting && mode === 'production') {
    throw new ConfigError('POSTERN_CLIENT_METADATA_DOCUMENT_ALLOW_PRIVATE_ADDRESSES_FOR_TESTING is for tests: it is refused in production');
  }
  return {
    enabled,
    hosts,
    caFile: env.POSTERN_CLIENT_METADATA_DOCUMENT_CA_FILE ? resolve(cwd, env.POSTERN_CLIENT_METADATA_DOCUMENT_CA_FILE) : undefined,
    allowPrivateAddressesForTesting,
  };
}

function modeFrom(env: Env): RunMode {
  const raw = env.NODE_ENV;
  if (raw === 'production' || raw === 'test') return raw;
  return 'development';
}

/**
 * Where the durable tier is, and nothing else: enough for the CLI to find a running server's
 * command socket without the settings only the server needs.
 */
export function loadDatabaseTarget(env: Env = process.env, cwd: string = process.cwd()): Pick<Config, 'databaseUrl' | 'dataDir'> {
  return {
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    dataDir: env.POSTERN_DATA_DIR === ':memory:' ? ':memory:' : resolve(cwd, env.POSTERN_DATA_DIR || 'data'),
  };
}

export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Readonly<Config> {
  const mode = modeFrom(env);
  const port = integer(env, 'PORT', 3000, 0, 65535);
  const issuer = (url(env, 'POSTERN_ISSUER', ['http:', 'https:']) ?? `http://localhost:${port}`).replace(/\/+$/, '');
  const masterKey = masterKeyFrom(env);
  const masterKeyFile = env.POSTERN_MASTER_KEY_FILE || undefined;
  const masterKeyPrevious = masterKeyFrom(env, 'POSTERN_MASTER_KEY_PREVIOUS');
  const masterKeyPreviousFile = env.POSTERN_MASTER_KEY_PREVIOUS_FILE || undefined;
  const cookieKeys = cookieKeysFrom(env);
  const allowHttpIssuer = flag(env, 'POSTERN_ALLOW_HTTP_ISSUER', false);
  const logLevel = (env.LOG_LEVEL || 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${env.LOG_LEVEL}"`);
  }

  if (mode === 'production') {
    if (!masterKey && !masterKeyFile) {
      throw new ConfigError('production needs a master key: set POSTERN_MASTER_KEY (base64 of 32 random bytes) or POSTERN_MASTER_KEY_FILE');
    }
    if (cookieKeys.length === 0) {
      throw new ConfigError('production needs cookie signing keys: set POSTERN_COOKIE_KEYS (comma-separated, newest first, 32+ characters each)');
    }
    if (!env.POSTERN_ISSUER) {
      throw new ConfigError('production needs POSTERN_ISSUER: the public https URL of this server, e.g. https://id.example.com');
    }
    if (!issuer.startsWith('https:') && !allowHttpIssuer) {
      throw new ConfigError(
        `production needs an https issuer, got ${issuer}: set POSTERN_ISSUER=https://…, or POSTERN_ALLOW_HTTP_ISSUER=true on a closed network only (sign-ins and tokens then cross it unencrypted)`,
      );
    }
  }

  const brand = brandFrom(env, cwd);
  const config: Config = {
    mode,
    issuer,
    host: env.HOST || '0.0.0.0',
    port,
    ...loadDatabaseTarget(env, cwd),
    redisUrl: env.REDIS_URL || undefined,
    redis: env.REDIS_URL ? parseRedisUrl(env.REDIS_URL) : undefined,
    redisPrefix: env.POSTERN_REDIS_PREFIX || 'postern:',
    masterKey,
    masterKeyFile: masterKeyFile ? resolve(cwd, masterKeyFile) : undefined,
    masterKeyPrevious,
    masterKeyPreviousFile: masterKeyPreviousFile ? resolve(cwd, masterKeyPreviousFile) : undefined,
    keysDir: resolve(cwd, env.POSTERN_KEYS_DIR || 'keys'),
    cookieKeys,
    ttl: {
      accessToken: integer(env, 'POSTERN_ACCESS_TOKEN_TTL', 3600),
      idToken: integer(env, 'POSTERN_ID_TOKEN_TTL', 3600),
      refreshToken: integer(env, 'POSTERN_REFRESH_TOKEN_TTL', 14 * 24 * 3600),
      authorizationCode: integer(env, 'POSTERN_AUTHORIZATION_CODE_TTL', 60),
      session: integer(env, 'POSTERN_SESSION_TTL', 14 * 24 * 3600),
      interaction: integer(env, 'POSTERN_INTERACTION_TTL', 3600),
      clientCredentials: integer(env, 'POSTERN_CLIENT_CREDENTIALS_TTL', 3600),
      deviceCode: integer(env, 'POSTERN_DEVICE_CODE_TTL', 600, 60, 3600),
    },
    trustProxy: flag(env, 'POSTERN_TRUST_PROXY', false),
    logLevel,
    argon2: {
      memoryCost: integer(env, 'POSTERN_ARGON2_MEMORY_KIB', 19456, 1024),
      timeCost: integer(env, 'POSTERN_ARGON2_ITERATIONS', 2),
      parallelism: integer(env, 'POSTERN_ARGON2_PARALLELISM', 1),
    },
    purgeIntervalSeconds: integer(env, 'POSTERN_PURGE_INTERVAL', 300),
    cacheTtlSeconds: integer(env, 'POSTERN_CACHE_TTL', 30, 0, 3600),
    recordCacheTtlSeconds: integer(env, 'POSTERN_RECORD_CACHE_TTL', 300, 0, 86400),
    security: {
      passwordMinLength: integer(env, 'POSTERN_PASSWORD_MIN_LENGTH', 12, 8, 128),
      lockout: {
        accountThreshold: integer(env, 'POSTERN_LOCKOUT_THRESHOLD', 10, 1, 10000),
        ipThreshold: integer(env, 'POSTERN_LOCKOUT_IP_THRESHOLD', 100, 1, 1000000),
        stepSeconds: integer(env, 'POSTERN_LOCKOUT_STEP', 60, 1, 86400),
        maxSeconds: integer(env, 'POSTERN_LOCKOUT_MAX', 900, 1, 86400),
        windowSeconds: integer(env, 'POSTERN_LOCKOUT_WINDOW', 3600, 60, 7 * 86400),
      },
      rateLimits: rateLimitsFrom(env),
      registration: flag(env, 'POSTERN_REGISTRATION', false),
      passwordResetTtl: integer(env, 'POSTERN_PASSWORD_RESET_TTL', 1800, 60, 86400),
      emailVerificationTtl: integer(env, 'POSTERN_EMAIL_VERIFICATION_TTL', 86400, 60, 30 * 86400),
      totpIssuer: env.POSTERN_TOTP_ISSUER || new URL(issuer).host,
      passkeyUserVerification: oneOf(env, 'POSTERN_PASSKEY_USER_VERIFICATION', ['required', 'preferred', 'discouraged'] as const, 'required'),
    },
    mail: {
      smtpUrl: url(env, 'POSTERN_SMTP_URL', ['smtp:', 'smtps:']),
      from: env.POSTERN_MAIL_FROM || `${mailDisplayName(brand.name)} <no-reply@${new URL(issuer).hostname}>`,
      outboxDir: env.POSTERN_MAIL_OUTBOX ? resolve(cwd, env.POSTERN_MAIL_OUTBOX) : undefined,
      logLinks: flag(env, 'POSTERN_MAIL_LOG_LINKS', false),
    },
    resilience: {
      refreshReuseIntervalSeconds: integer(env, 'POSTERN_REFRESH_REUSE_INTERVAL', 30, 0, 300),
      storageTimeoutMs: integer(env, 'POSTERN_STORAGE_TIMEOUT', 750, 50, 60_000),
      shutdownDelaySeconds: integer(env, 'POSTERN_SHUTDOWN_DELAY', 3, 0, 600),
      shutdownTimeoutSeconds: integer(env, 'POSTERN_SHUTDOWN_TIMEOUT', 25, 0, 3600),
      headersTimeoutSeconds: integer(env, 'POSTERN_HEADERS_TIMEOUT', 10, 1, 600),
      requestTimeoutSeconds: integer(env, 'POSTERN_REQUEST_TIMEOUT', 30, 1, 3600),
      keepAliveTimeoutSeconds: integer(env, 'POSTERN_KEEP_ALIVE_TIMEOUT', 65, 1, 3600),
    },
    workers: integer(env, 'POSTERN_WORKERS', 1, 1, 256),
    signingKeys: {
      rotationIntervalSeconds: parseDuration(env.POSTERN_KEY_ROTATION_INTERVAL || '90d', 'POSTERN_KEY_ROTATION_INTERVAL'),
      checkIntervalSeconds: integer(env, 'POSTERN_KEY_CHECK_INTERVAL', 60, 1, 3600),
      jwksMaxAgeSeconds: integer(env, 'POSTERN_JWKS_MAX_AGE', 300, 0, 86400),
    },
    observability: observabilityFrom(env),
    backchannelLogout: {
      retryBaseSeconds: integer(env, 'POSTERN_LOGOUT_RETRY_BASE', 10, 1, 3600),
      maxAttempts: integer(env, 'POSTERN_LOGOUT_MAX_ATTEMPTS', 10, 1, 100),
      maxAgeSeconds: integer(env, 'POSTERN_LOGOUT_MAX_AGE', 86400, 60, 30 * 86400),
      timeoutSeconds: integer(env, 'POSTERN_LOGOUT_TIMEOUT', 5, 1, 60),
      pollSeconds: integer(env, 'POSTERN_LOGOUT_POLL_INTERVAL', 5, 1, 3600),
    },
    deviceFlow: {
      enabled: flag(env, 'POSTERN_DEVICE_FLOW', false),
      pollIntervalSeconds: integer(env, 'POSTERN_DEVICE_POLL_INTERVAL', 5, 1, 60),
      browserFailureThreshold: integer(env, 'POSTERN_DEVICE_CODE_BROWSER_FAILURES', 10, 1, 1000),
      ipFailureThreshold: integer(env, 'POSTERN_DEVICE_CODE_IP_FAILURES', 50, 1, 100000),
      lockSeconds: integer(env, 'POSTERN_DEVICE_CODE_LOCK', 900, 60, 86400),
    },
    brand,
    clientRegistration: clientRegistrationFrom(env),
    clientMetadataDocuments: clientMetadataDocumentsFrom(env, mode, cwd),
    protocol: {
      dpopRequireNonce: flag(env, 'POSTERN_DPOP_REQUIRE_NONCE', true),
      requirePar: flag(env, 'POSTERN_REQUIRE_PAR', false),
    },
  };
  if (config.workers > 1 && (!config.databaseUrl || !config.redis)) {
    throw new ConfigError(
      `POSTERN_WORKERS=${config.workers} needs DATABASE_URL and REDIS_URL: the embedded tier (PGlite in ${config.dataDir}, process memory) serves one process only`,
    );
  }
  if (config.redis?.mode === 'cluster' && /[{}]/.test(config.redisPrefix)) {
    // Redis Cluster places a key by the part between its first braces: one in the prefix would put every key on one node
    throw new ConfigError('POSTERN_REDIS_PREFIX must not contain { or } with a Redis Cluster');
  }
  if (config.resilience.headersTimeoutSeconds > config.resilience.requestTimeoutSeconds) {
    throw new ConfigError('POSTERN_HEADERS_TIMEOUT must not be longer than POSTERN_REQUEST_TIMEOUT');
  }
  return Object.freeze(config);
}
