import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, withArguments } from '../../src/config.ts';

const CWD = '/srv/postern';
const MASTER_KEY = randomBytes(32).toString('base64');
const COOKIE_KEY = 'c'.repeat(32);
const PRODUCTION = { NODE_ENV: 'production', POSTERN_ISSUER: 'https://id.example.com', POSTERN_MASTER_KEY: MASTER_KEY, POSTERN_COOKIE_KEYS: COOKIE_KEY };

const load = (env: Record<string, string | undefined>) => loadConfig(env, CWD);

/** The ConfigError `env` produces; fails the test when there is none. */
function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    load(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  return expect.unreachable(`no ConfigError for ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('with an empty environment: development defaults, embedded storage, frozen', () => {
    const config = load({});
    expect(config).toEqual({
      mode: 'development',
      issuer: 'http://localhost:3000',
      host: '0.0.0.0',
      port: 3000,
      databaseUrl: undefined,
      dataDir: '/srv/postern/data',
      redisUrl: undefined,
      redisPrefix: 'postern:',
      masterKey: undefined,
      masterKeyFile: undefined,
      masterKeyPrevious: undefined,
      masterKeyPreviousFile: undefined,
      keysDir: '/srv/postern/keys',
      cookieKeys: [],
      ttl: {
        accessToken: 3600,
        idToken: 3600,
        refreshToken: 14 * 24 * 3600,
        authorizationCode: 60,
        session: 14 * 24 * 3600,
        interaction: 3600,
        clientCredentials: 3600,
        deviceCode: 600,
      },
      trustProxy: false,
      logLevel: 'info',
      argon2: { memoryCost: 19456, timeCost: 2, parallelism: 1 },
      purgeIntervalSeconds: 300,
      cacheTtlSeconds: 30,
      recordCacheTtlSeconds: 300,
      security: {
        passwordMinLength: 12,
        lockout: { accountThreshold: 10, ipThreshold: 100, stepSeconds: 60, maxSeconds: 900, windowSeconds: 3600 },
        rateLimits: {
          token: { limit: 600, windowSeconds: 60 },
          introspection: { limit: 1200, windowSeconds: 60 },
          revocation: { limit: 300, windowSeconds: 60 },
          userinfo: { limit: 600, windowSeconds: 60 },
          login: { limit: 30, windowSeconds: 60 },
          registration: { limit: 10, windowSeconds: 3600 },
          client_registration: { limit: 30, windowSeconds: 3600 },
          password_reset: { limit: 10, windowSeconds: 3600 },
          admin: { limit: 300, windowSeconds: 60 },
          device_authorization: { limit: 60, windowSeconds: 60 },
          device: { limit: 30, windowSeconds: 60 },
        },
        registration: false,
        passwordResetTtl: 1800,
        emailVerificationTtl: 86400,
        totpIssuer: 'localhost:3000',
        passkeyUserVerification: 'required',
      },
      mail: { smtpUrl: undefined, from: 'Postern <no-reply@localhost>', outboxDir: undefined, logLinks: false },
      resilience: {
        refreshReuseIntervalSeconds: 30,
        storageTimeoutMs: 750,
        shutdownDelaySeconds: 3,
        shutdownTimeoutSeconds: 25,
        headersTimeoutSeconds: 10,
        requestTimeoutSeconds: 30,
        keepAliveTimeoutSeconds: 65,
      },
      workers: 1,
      signingKeys: { rotationIntervalSeconds: 90 * 86400, checkIntervalSeconds: 60, jwksMaxAgeSeconds: 300 },
      observability: { metricsPort: undefined, metricsToken: undefined, otlpEndpoint: undefined, serviceName: 'postern' },
      backchannelLogout: { retryBaseSeconds: 10, maxAttempts: 10, maxAgeSeconds: 86400, timeoutSeconds: 5, pollSeconds: 5 },
      deviceFlow: { enabled: false, pollIntervalSeconds: 5, browserFailureThreshold: 10, ipFailureThreshold: 50, lockSeconds: 900 },
      brand: { name: 'Postern', logo: undefined, accent: undefined, supportUrl: undefined },
      clientRegistration: { mode: 'off', redirectUriPatterns: [], grantTypes: ['authorization_code', 'refresh_token'], scopes: ['openid', 'profile', 'email', 'offline_access'], unusedTtlSeconds: 86400 },
      clientMetadataDocuments: { enabled: false, hosts: [], caFile: undefined, allowPrivateAddressesForTesting: false },
      protocol: { dpopRequireNonce: true, requirePar: false },
    });
    expect(config.redis).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads the metrics port and token and the OTLP endpoint; a short or spaced token is refused', () => {
    const token = 'a'.repeat(32);
    const config = load({ POSTERN_METRICS_PORT: '9464', POSTERN_METRICS_TOKEN: token, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/', OTEL_SERVICE_NAME: 'idp' });
    expect(config.observability).toEqual({ metricsPort: 9464, metricsToken: token, otlpEndpoint: 'http://collector:4318', serviceName: 'idp' });
    expect(configError({ POSTERN_METRICS_TOKEN: 'short' }).message).toContain('POSTERN_METRICS_TOKEN must be at least 32');
    expect(configError({ POSTERN_METRICS_TOKEN: `${token} x` }).message).toContain('POSTERN_METRICS_TOKEN must be at least 32');
    expect(configError({ POSTERN_METRICS_PORT: '70000' }).message).toContain('POSTERN_METRICS_PORT must be at most 65535');
    expect(configError({ OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://collector' }).message).toContain('OTEL_EXPORTER_OTLP_ENDPOINT must start with');
  });

  it('reads the back-channel logout delivery settings and refuses values out of range', () => {
    const config = load({ POSTERN_LOGOUT_RETRY_BASE: '1', POSTERN_LOGOUT_MAX_ATTEMPTS: '3', POSTERN_LOGOUT_MAX_AGE: '600', POSTERN_LOGOUT_TIMEOUT: '2', POSTERN_LOGOUT_POLL_INTERVAL: '1' });
    expect(config.backchannelLogout).toEqual({ retryBaseSeconds: 1, maxAttempts: 3, maxAgeSeconds: 600, timeoutSeconds: 2, pollSeconds: 1 });
    expect(configError({ POSTERN_LOGOUT_MAX_ATTEMPTS: '0' }).message).toContain('POSTERN_LOGOUT_MAX_ATTEMPTS must be at least 1');
    expect(configError({ POSTERN_LOGOUT_TIMEOUT: '61' }).message).toContain('POSTERN_LOGOUT_TIMEOUT must be at most 60');
    expect(configError({ POSTERN_LOGOUT_RETRY_BASE: '0.5' }).message).toContain('POSTERN_LOGOUT_RETRY_BASE must be a whole number');
  });

  it('reads the device flow settings and refuses values out of range', () => {
    const config = load({
      POSTERN_DEVICE_FLOW: 'on',
      POSTERN_DEVICE_POLL_INTERVAL: '2',
      POSTERN_DEVICE_CODE_BROWSER_FAILURES: '3',
      POSTERN_DEVICE_CODE_IP_FAILURES: '20',
      POSTERN_DEVICE_CODE_LOCK: '600',
      POSTERN_DEVICE_CODE_TTL: '300',
    });
    expect(config.deviceFlow).toEqual({ enabled: true, pollIntervalSeconds: 2, browserFailureThreshold: 3, ipFailureThreshold: 20, lockSeconds: 600 });
    expect(config.ttl.deviceCode).toBe(300);
    expect(configError({ POSTERN_DEVICE_CODE_TTL: '30' }).message).toContain('POSTERN_DEVICE_CODE_TTL must be at least 60');
    expect(configError({ POSTERN_DEVICE_POLL_INTERVAL: '61' }).message).toContain('POSTERN_DEVICE_POLL_INTERVAL must be at most 60');
    expect(configError({ POSTERN_DEVICE_FLOW: 'maybe' }).message).toContain('POSTERN_DEVICE_FLOW');
  });

  it('reads the dynamic client registration settings and refuses unknown modes, grant types and bad patterns', () => {
    const config = load({
      POSTERN_CLIENT_REGISTRATION: 'open-native',
      POSTERN_CLIENT_REGISTRATION_REDIRECT_URIS: 'http://127.0.0.1:*, com.example.app:/*',
      POSTERN_CLIENT_REGISTRATION_GRANT_TYPES: 'authorization_code',
      POSTERN_CLIENT_REGISTRATION_SCOPES: 'openid mcp:tools',
      POSTERN_CLIENT_REGISTRATION_UNUSED_TTL: 'off',
      POSTERN_RATE_LIMIT_CLIENT_REGISTRATION: '5/1m',
    });
    expect(config.clientRegistration).toEqual({ mode: 'open-native', redirectUriPatterns: ['http://127.0.0.1:*', 'com.example.app:/*'], grantTypes: ['authorization_code'], scopes: ['openid', 'mcp:tools'], unusedTtlSeconds: null });
    expect(config.security.rateLimits.client_registration).toEqual({ limit: 5, windowSeconds: 60 });
    expect(configError({ POSTERN_CLIENT_REGISTRATION: 'on' }).message).toContain('POSTERN_CLIENT_REGISTRATION must be one of off, token, open-native');
    expect(configError({ POSTERN_CLIENT_REGISTRATION_GRANT_TYPES: 'implicit' }).message).toContain('unknown grant type "implicit"');
    expect(configError({ POSTERN_CLIENT_REGISTRATION_REDIRECT_URIS: '/callback' }).message).toContain('does not start with a scheme');
  });

  it('reads the client ID metadata document settings: hosts needed when on, the private-address test setting never in production', () => {
    const config = load({ POSTERN_CLIENT_METADATA_DOCUMENTS: 'true', POSTERN_CLIENT_METADATA_DOCUMENT_HOSTS: 'Agents.Example.com, *.tools.example', POSTERN_CLIENT_METADATA_DOCUMENT_CA_FILE: 'ca.pem' });
    expect(config.clientMetadataDocuments).toEqual({ enabled: true, hosts: ['agents.example.com', '*.tools.example'], caFile: '/srv/postern/ca.pem', allowPrivateAddressesForTesting: false });
    expect(configError({ POSTERN_CLIENT_METADATA_DOCUMENTS: 'true' }).message).toContain('needs POSTERN_CLIENT_METADATA_DOCUMENT_HOSTS');
    expect(configError({ POSTERN_CLIENT_METADATA_DOCUMENT_HOSTS: 'https://x.example' }).message).toContain('is not a host name');
    expect(load({ POSTERN_CLIENT_METADATA_DOCUMENT_ALLOW_PRIVATE_ADDRESSES_FOR_TESTING: 'true' }).clientMetadataDocuments.allowPrivateAddressesForTesting).toBe(true);
    expect(configError({ ...PRODUCTION, POSTERN_CLIENT_METADATA_DOCUMENT_ALLOW_PRIVATE_ADDRESSES_FOR_TESTING: 'true' }).message).toContain('refused in production');
  });

  it('requires DPoP nonces and no pushed requests by default; both can be turned the other way', () => {
    expect(load({}).protocol).toEqual({ dpopRequireNonce: true, requirePar: false });
    expect(load({ POSTERN_DPOP_REQUIRE_NONCE: 'false', POSTERN_REQUIRE_PAR: 'true' }).protocol).toEqual({ dpopRequireNonce: false, requirePar: true });
    expect(configError({ POSTERN_REQUIRE_PAR: 'sometimes' }).message).toContain('POSTERN_REQUIRE_PAR must be true or false');
  });

  it('reads the resilience settings; 0 turns the refresh reuse interval off; headers cannot outlast the request', () => {
    const config = load({ POSTERN_REFRESH_REUSE_INTERVAL: '0', POSTERN_STORAGE_TIMEOUT: '200', POSTERN_SHUTDOWN_TIMEOUT: '5' });
    expect(config.resilience).toMatchObject({ refreshReuseIntervalSeconds: 0, storageTimeoutMs: 200, shutdownTimeoutSeconds: 5 });
    expect(configError({ POSTERN_REFRESH_REUSE_INTERVAL: '301' }).message).toContain('POSTERN_REFRESH_REUSE_INTERVAL must be at most 300');
    expect(configError({ POSTERN_HEADERS_TIMEOUT: '40' }).message).toContain('POSTERN_HEADERS_TIMEOUT must not be longer than POSTERN_REQUEST_TIMEOUT');
  });

  it('reads rate limits as "N/window" per endpoint, "off" lifts one, and refuses anything else', () => {
    const config = load({ POSTERN_RATE_LIMIT_TOKEN: '5/5s', POSTERN_RATE_LIMIT_USERINFO: '100/m', POSTERN_RATE_LIMIT_LOGIN: 'off', POSTERN_RATE_LIMIT_REGISTRATION: '3 / 2h' });
    expect(config.security.rateLimits.token).toEqual({ limit: 5, windowSeconds: 5 });
    expect(config.security.rateLimits.userinfo).toEqual({ limit: 100, windowSeconds: 60 });
    expect(config.security.rateLimits.login).toBeNull();
    expect(config.security.rateLimits.registration).toEqual({ limit: 3, windowSeconds: 7200 });
    for (const bad of ['5', '5/5', '0/5s', '5/0s', '-1/5s', '5/5d', 'five/5s', '5/2h30m', '5/25h']) {
      expect(() => load({ POSTERN_RATE_LIMIT_TOKEN: bad }), bad).toThrow(/POSTERN_RATE_LIMIT_TOKEN must look like/);
    }
  });

  it('reads the variables it documents', () => {
    const config = load({
      ...PRODUCTION,
      PORT: '8080',
      POSTERN_ISSUER: 'https://id.example.com/',
      DATABASE_URL: 'postgres://db.internal/postern',
      REDIS_URL: 'rediss://cache.internal:6380',
      POSTERN_REDIS_PREFIX: 'tenant-a:',
      POSTERN_DATA_DIR: 'state',
      POSTERN_COOKIE_KEYS: ` ${'n'.repeat(40)} , ${'o'.repeat(32)} `,
      POSTERN_TRUST_PROXY: 'yes',
      LOG_LEVEL: 'warn',
      POSTERN_ACCESS_TOKEN_TTL: '600',
    });
    expect(config).toMatchObject({
      mode: 'production',
      port: 8080,
      issuer: 'https://id.example.com',
      databaseUrl: 'postgres://db.internal/postern',
      redisUrl: 'rediss://cache.internal:6380',
      redisPrefix: 'tenant-a:',
      dataDir: '/srv/postern/state',
      cookieKeys: ['n'.repeat(40), 'o'.repeat(32)],
      trustProxy: true,
      logLevel: 'warn',
      ttl: { accessToken: 600 },
    });
    expect(config.masterKey).toEqual(Buffer.from(MASTER_KEY, 'base64'));
  });

  it('logs mail text only when POSTERN_MAIL_LOG_LINKS asks for it, in every mode', () => {
    for (const mode of [undefined, 'development', 'test', 'production']) {
      const env = mode === 'production' ? PRODUCTION : { NODE_ENV: mode };
      expect(load(env).mail.logLinks, String(mode)).toBe(false);
      expect(load({ ...env, POSTERN_MAIL_LOG_LINKS: 'true' }).mail.logLinks, String(mode)).toBe(true);
    }
    expect(configError({ POSTERN_MAIL_LOG_LINKS: 'links' }).message).toContain('POSTERN_MAIL_LOG_LINKS');
  });

  it("keeps POSTERN_DATA_DIR=':memory:' literal (in-memory PGlite), not a directory named :memory:", () => {
    expect(load({ POSTERN_DATA_DIR: ':memory:' }).dataDir).toBe(':memory:');
  });

  describe('production', () => {
    it('starts with a master key and cookie keys', () => {
      expect(load(PRODUCTION).mode).toBe('production');
      expect(load({ ...PRODUCTION, POSTERN_MASTER_KEY: undefined, POSTERN_MASTER_KEY_FILE: 'secrets/master.key' }).masterKeyFile).toBe(
        '/srv/postern/secrets/master.key',
      );
    });

    it('without a master key: a ConfigError naming both ways to provide one', () => {
      const error = configError({ ...PRODUCTION, POSTERN_MASTER_KEY: undefined });
      expect(error.message).toContain('POSTERN_MASTER_KEY ');
      expect(error.message).toContain('POSTERN_MASTER_KEY_FILE');
      expect(error.message).toMatch(/32 random bytes/);
    });

    it('without POSTERN_ISSUER: a ConfigError, not a fallback to http://localhost', () => {
      for (const issuer of [undefined, '']) {
        const error = configError({ ...PRODUCTION, POSTERN_ISSUER: issuer });
        expect(error.message).toContain('production needs POSTERN_ISSUER');
        expect(error.message).toContain('https://');
      }
    });

    it('with an http issuer: a ConfigError naming the https fix and the plainly named opt-out', () => {
      for (const issuer of ['http://id.example.com', 'http://127.0.0.1:3000']) {
        const error = configError({ ...PRODUCTION, POSTERN_ISSUER: issuer });
        expect(error.message).toContain(`production needs an https issuer, got ${issuer}`);
        expect(error.message).toContain('POSTERN_ALLOW_HTTP_ISSUER=true');
      }
      expect(configError({ ...PRODUCTION, POSTERN_ISSUER: 'http://id.example.com', POSTERN_ALLOW_HTTP_ISSUER: 'false' }).message).toContain('https issuer');
      expect(configError({ ...PRODUCTION, POSTERN_ALLOW_HTTP_ISSUER: 'sometimes' }).message).toContain('POSTERN_ALLOW_HTTP_ISSUER must be true or false');
    });

    it('POSTERN_PASSKEY_USER_VERIFICATION: one of required, preferred, discouraged', () => {
      expect(load({ ...PRODUCTION, POSTERN_PASSKEY_USER_VERIFICATION: 'preferred' }).security.passkeyUserVerification).toBe('preferred');
      expect(configError({ ...PRODUCTION, POSTERN_PASSKEY_USER_VERIFICATION: 'always' }).message).toContain('POSTERN_PASSKEY_USER_VERIFICATION must be one of required, preferred, discouraged');
    });

    it('with POSTERN_ALLOW_HTTP_ISSUER=true: an http issuer is accepted (a closed network)', () => {
      expect(load({ ...PRODUCTION, POSTERN_ISSUER: 'http://127.0.0.1:3000', POSTERN_ALLOW_HTTP_ISSUER: 'true' }).issuer).toBe('http://127.0.0.1:3000');
      // the opt-out is not a default: it still needs an issuer
      expect(configError({ ...PRODUCTION, POSTERN_ISSUER: undefined, POSTERN_ALLOW_HTTP_ISSUER: 'true' }).message).toContain('POSTERN_ISSUER');
    });

    it('without cookie keys: a ConfigError saying how to set them', () => {
      for (const keys of [undefined, '', ' , ']) {
        const error = configError({ ...PRODUCTION, POSTERN_COOKIE_KEYS: keys });
        expect(error.message).toContain('POSTERN_COOKIE_KEYS');
        expect(error.message).toMatch(/32\+ characters/);
      }
    });
  });

  it.each(['abc', '-1', '3.5', '80 80', '70000'])('refuses PORT=%j', (port) => {
    expect(configError({ PORT: port }).message).toContain('PORT');
  });

  it.each([
    ['not a url', /not a valid URL/],
    ['mysql://db/postern', /must start with postgres:\/\/ or postgresql:\/\//],
    ['http://db/postern', /must start with postgres:/],
  ])('refuses DATABASE_URL=%j', (url, message) => {
    const error = configError({ DATABASE_URL: url });
    expect(error.message).toContain('DATABASE_URL');
    expect(error.message).toMatch(message);
  });

  it('accepts postgresql:// as well as postgres://', () => {
    expect(load({ DATABASE_URL: 'postgresql://db/postern' }).databaseUrl).toBe('postgresql://db/postern');
  });

  it('refuses a REDIS_URL that is not redis:// or rediss://', () => {
    expect(configError({ REDIS_URL: 'http://cache' }).message).toContain('REDIS_URL');
  });

  it.each(['verbose', 'INFO', 'warning'])('refuses LOG_LEVEL=%j and lists the levels', (level) => {
    const error = configError({ LOG_LEVEL: level });
    expect(error.message).toContain('LOG_LEVEL');
    expect(error.message).toContain('fatal, error, warn, info, debug, trace, silent');
  });

  describe('REDIS_URL forms', () => {
    it('one server: redis:// or rediss://, as given', () => {
      expect(load({ REDIS_URL: 'rediss://:pw@cache.internal:6380/2' }).redis).toEqual({ mode: 'standalone', url: 'rediss://:pw@cache.internal:6380/2' });
    });

    it('a Redis Cluster by some of its nodes, with credentials and TLS', () => {
      expect(load({ REDIS_URL: 'redis+cluster://h1:7000,10.0.0.2,[::1]:7002/' }).redis).toEqual({
        mode: 'cluster',
        nodes: [
          { host: 'h1', port: 7000 },
          { host: '10.0.0.2', port: 6379 },
          { host: '::1', port: 7002 },
        ],
        tls: false,
        username: undefined,
        password: undefined,
      });
      expect(load({ REDIS_URL: 'rediss+cluster://app:s%40cret@h1:7000' }).redis).toMatchObject({ mode: 'cluster', tls: true, username: 'app', password: 's@cret' });
    });

    it('a master watched by Sentinels, named by ?name=', () => {
      expect(load({ REDIS_URL: 'redis+sentinel://:pw@s1,s2:26380/3?name=mymaster&sentinel_password=spw' }).redis).toEqual({
        mode: 'sentinel',
        sentinels: [
          { host: 's1', port: 26379 },
          { host: 's2', port: 26380 },
        ],
        name: 'mymaster',
        db: 3,
        tls: false,
        username: undefined,
        password: 'pw',
        sentinelUsername: undefined,
        sentinelPassword: 'spw',
      });
    });

    it.each([
      ['redis+sentinel://s1:26379/', 'names its master'],
      ['redis+sentinel://s1:26379/?name=m&nmae=x', 'unknown Sentinel URL parameter nmae'],
      ['redis+sentinel://s1:26379/x?name=m', 'must be a number'],
      ['redis+cluster://h1:7000/2', 'no database number'],
      ['redis+cluster://h1:7000/?name=x', 'takes no parameters'],
      ['redis+cluster://h1:port', 'is not a host:port'],
      ['redis+cluster://', 'write a Redis Cluster as'],
      ['redis+shard://h1', 'write a Redis Cluster as'],
    ])('refuses %s', (raw, message) => {
      expect(configError({ REDIS_URL: raw }).message).toContain(message);
    });

    it('refuses braces in the key prefix with a Redis Cluster: every key would hash to one node', () => {
      expect(configError({ REDIS_URL: 'redis+cluster://h1:7000', POSTERN_REDIS_PREFIX: '{postern}:' }).message).toContain('POSTERN_REDIS_PREFIX');
      expect(load({ REDIS_URL: 'redis://h1', POSTERN_REDIS_PREFIX: '{postern}:' }).redisPrefix).toBe('{postern}:');
    });
  });

  describe('workers', () => {
    const shared = { DATABASE_URL: 'postgres://db/postern', REDIS_URL: 'redis://cache' };

    it('POSTERN_WORKERS or --workers N / --workers=N; the argument wins', () => {
      expect(load({ ...shared, POSTERN_WORKERS: '3' }).workers).toBe(3);
      expect(load(withArguments({ ...shared, POSTERN_WORKERS: '3' }, ['--workers', '2'])).workers).toBe(2);
      expect(load(withArguments(shared, ['--workers=4'])).workers).toBe(4);
    });

    it('refuses more than one worker on the embedded tier, naming what is missing', () => {
      expect(configError({ POSTERN_WORKERS: '2' }).message).toContain('needs DATABASE_URL and REDIS_URL');
      expect(configError({ POSTERN_WORKERS: '2', DATABASE_URL: shared.DATABASE_URL }).message).toContain('serves one process only');
      expect(configError({ POSTERN_WORKERS: '2', REDIS_URL: shared.REDIS_URL }).message).toContain('PGlite');
      expect(load({ POSTERN_WORKERS: '1' }).workers).toBe(1);
    });

    it('refuses other arguments and a missing or bad count', () => {
      expect(() => withArguments({}, ['--port', '80'])).toThrow(/unknown argument "--port"/);
      expect(() => withArguments({}, ['--workers'])).toThrow(ConfigError);
      expect(configError(withArguments(shared, ['--workers', 'many'])).message).toContain('POSTERN_WORKERS must be a whole number');
      expect(configError({ ...shared, POSTERN_WORKERS: '0' }).message).toContain('at least 1');
    });
  });

  it('refuses a cookie key shorter than 32 characters, even next to good ones', () => {
    expect(configError({ POSTERN_COOKIE_KEYS: 'short' }).message).toContain('at least 32 characters');
    expect(configError({ POSTERN_COOKIE_KEYS: `${COOKIE_KEY},${'s'.repeat(31)}` }).message).toContain('POSTERN_COOKIE_KEYS');
  });

  it('refuses a master key that is not 32 bytes of base64', () => {
    expect(configError({ POSTERN_MASTER_KEY: randomBytes(16).toString('base64') }).message).toContain('openssl rand -base64 32');
    expect(configError({ POSTERN_MASTER_KEY_PREVIOUS: randomBytes(16).toString('base64') }).message).toBe(
      'POSTERN_MASTER_KEY_PREVIOUS must be 32 random bytes, base64-encoded (openssl rand -base64 32)',
    );
  });

  it('reads the key rotation interval as a duration or off, and refuses anything else', () => {
    expect(load({ POSTERN_KEY_ROTATION_INTERVAL: '30d' }).signingKeys.rotationIntervalSeconds).toBe(30 * 86400);
    expect(load({ POSTERN_KEY_ROTATION_INTERVAL: '12h' }).signingKeys.rotationIntervalSeconds).toBe(12 * 3600);
    expect(load({ POSTERN_KEY_ROTATION_INTERVAL: '45' }).signingKeys.rotationIntervalSeconds).toBe(45);
    expect(load({ POSTERN_KEY_ROTATION_INTERVAL: 'off' }).signingKeys.rotationIntervalSeconds).toBeNull();
    for (const bad of ['0', '90 days', '-1d', '1w']) {
      expect(configError({ POSTERN_KEY_ROTATION_INTERVAL: bad }).message).toContain('POSTERN_KEY_ROTATION_INTERVAL must look like "90d"');
    }
    expect(configError({ POSTERN_KEY_CHECK_INTERVAL: '0' }).message).toContain('POSTERN_KEY_CHECK_INTERVAL');
    expect(load({ POSTERN_JWKS_MAX_AGE: '0' }).signingKeys.jwksMaxAgeSeconds).toBe(0);
  });

  it('refuses bad flags, zero lifetimes and a weak argon2 memory cost', () => {
    expect(configError({ POSTERN_TRUST_PROXY: 'maybe' }).message).toContain('POSTERN_TRUST_PROXY');
    expect(configError({ POSTERN_ACCESS_TOKEN_TTL: '0' }).message).toContain('POSTERN_ACCESS_TOKEN_TTL');
    expect(configError({ POSTERN_ARGON2_MEMORY_KIB: '512' }).message).toContain('POSTERN_ARGON2_MEMORY_KIB');
  });

  it('is one line, so startup can print it as is', () => {
    const error = configError({ NODE_ENV: 'production' });
    expect(error.name).toBe('ConfigError');
    expect(error.message).not.toContain('\n');
  });
});
