import { resolve } from 'node:path';

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
}

export interface Argon2Parameters {
  /** KiB; default 19456 (19 MiB, OWASP) */
  memoryCost: number;
  /** iterations; default 2 */
  timeCost: number;
  /** lanes; default 1 */
  parallelism: number;
}

export interface Config {
  mode: RunMode;
  issuer: string;
  host: string;
  port: number;
  /** postgres:// URL; undefined selects embedded PGlite in `dataDir` */
  databaseUrl: string | undefined;
  dataDir: string;
  /** redis:// URL; undefined selects the in-process store */
  redisUrl: string | undefined;
  /** key prefix for everything Postern writes to Redis */
  redisPrefix: string;
  /** base64 master key from the environment, or undefined */
  masterKey: Buffer | undefined;
  masterKeyFile: string | undefined;
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

function masterKeyFrom(env: Env): Buffer | undefined {
  const raw = env.POSTERN_MASTER_KEY;
  if (raw === undefined || raw === '') return undefined;
  const key = Buffer.from(raw, 'base64');
  if (key.length !== 32) {
    throw new ConfigError('POSTERN_MASTER_KEY must be 32 random bytes, base64-encoded (openssl rand -base64 32)');
  }
  return key;
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

function modeFrom(env: Env): RunMode {
  const raw = env.NODE_ENV;
  if (raw === 'production' || raw === 'test') return raw;
  return 'development';
}

export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Readonly<Config> {
  const mode = modeFrom(env);
  const port = integer(env, 'PORT', 3000, 0, 65535);
  const issuer = (url(env, 'POSTERN_ISSUER', ['http:', 'https:']) ?? `http://localhost:${port}`).replace(/\/+$/, '');
  const masterKey = masterKeyFrom(env);
  const masterKeyFile = env.POSTERN_MASTER_KEY_FILE || undefined;
  const cookieKeys = cookieKeysFrom(env);
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
  }

  const config: Config = {
    mode,
    issuer,
    host: env.HOST || '0.0.0.0',
    port,
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    dataDir: env.POSTERN_DATA_DIR === ':memory:' ? ':memory:' : resolve(cwd, env.POSTERN_DATA_DIR || 'data'),
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    redisPrefix: env.POSTERN_REDIS_PREFIX || 'postern:',
    masterKey,
    masterKeyFile: masterKeyFile ? resolve(cwd, masterKeyFile) : undefined,
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
  };
  return Object.freeze(config);
}
