/**
 * Storage round trips per request: starts Postern in-process on a fresh PostgreSQL database and
 * Redis prefix (production settings, logs silenced), runs each scenario's request twice, and prints
 * the SQL statements (knex 'query' events) and Redis commands (MONITOR, filtered to this prefix)
 * of the second run. Evidence for where a request's latency goes; not a load test.
 *
 *   node bench/query-count.ts
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import knex from 'knex';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { startServer } from '../src/server.ts';
import { Browser } from './lib/browser.ts';
import { authorizationCodeFlow, basicAuthorization, clientCredentialsToken, harvestRefreshTokens } from './lib/code-flow.ts';
import { BENCH_API, BENCH_PASSWORD, BENCH_REDIRECT_URI, BENCH_USERNAME, seedPostern } from './lib/seed.ts';
import { freePort } from './lib/servers.ts';

const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const id = randomBytes(5).toString('hex');
const database = `postern_bench_q${id}`;
const prefix = `postern-bench-q${id}:`;
const admin = knex({ client: 'pg', connection: DATABASE_URL, pool: { min: 0, max: 1 } });
await admin.raw(`create database ${database}`);
const databaseUrl = new URL(DATABASE_URL);
databaseUrl.pathname = `/${database}`;
const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const env = {
  NODE_ENV: 'production', PORT: String(port), HOST: '127.0.0.1', POSTERN_ISSUER: url, POSTERN_ALLOW_HTTP_ISSUER: 'true',
  DATABASE_URL: databaseUrl.toString(), REDIS_URL, POSTERN_REDIS_PREFIX: prefix,
  POSTERN_MASTER_KEY: randomBytes(32).toString('base64'), POSTERN_COOKIE_KEYS: randomBytes(32).toString('base64url'), LOG_LEVEL: 'silent',
};
const monitorConnection = new Redis(REDIS_URL);
try {
  const fixture = await seedPostern(env);
  const config = loadConfig(env);
  const server = await startServer(config, createLogger('silent'));
  const sql: string[] = [];
  const redis: string[] = [];
  // for oidc_payloads the first binding is the model name: shown; other bindings (ids, tokens) are not
  server.storage.db.on('query', (query: { sql: string; bindings?: unknown[] }) =>
    sql.push(query.sql.includes('"oidc_payloads"') && typeof query.bindings?.[0] === 'string' ? `[${query.bindings[0]}] ${query.sql}` : query.sql));
  const monitor = await monitorConnection.monitor();
  monitor.on('monitor', (_time: string, args: string[]) => {
    if (args.slice(1).some((arg) => arg.startsWith(prefix))) redis.push(args.map((arg) => arg.replace(prefix, '')).join(' ').slice(0, 110));
  });
  try {
    const target = { url, ...fixture, redirectUri: BENCH_REDIRECT_URI, username: BENCH_USERNAME, password: BENCH_PASSWORD, api: BENCH_API };
    const auth = basicAuthorization(target.clientId, target.clientSecret);
    const post = async (path: string, body: string) => {
      const response = await fetch(new URL(path, url), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: auth }, body });
      const text = await response.text();
      if (response.status !== 200) throw new Error(`${path}: ${response.status} ${text}`);
    };
    const jwt = (await clientCredentialsToken(target, 'read')).access_token;
    const opaque = (await authorizationCodeFlow(new Browser(url), target, { scope: 'openid' })).tokens.access_token;
    const pool = await harvestRefreshTokens(target, 4, 1);
    const count = async (label: string, run: () => Promise<unknown>) => {
      await run();
      await new Promise((resolve) => setTimeout(resolve, 100));
      sql.length = 0;
      redis.length = 0;
      await run();
      await new Promise((resolve) => setTimeout(resolve, 100));
      process.stdout.write(`\n${label}: ${sql.length} SQL statements, ${redis.length} Redis commands\n`);
      for (const statement of sql) process.stdout.write(`  sql   ${statement.slice(0, 150)}\n`);
      for (const command of redis) process.stdout.write(`  redis ${command}\n`);
    };
    await count('client_credentials', () => post('/token', 'grant_type=client_credentials&scope=read'));
    await count('refresh', () => post('/token', `grant_type=refresh_token&refresh_token=${pool.pop()}`));
    await count('introspect_jwt', () => post('/token/introspection', `token=${jwt}`));
    await count('introspect_opaque', () => post('/token/introspection', `token=${opaque}`));
    await count('userinfo', () => fetch(new URL('/me', url), { headers: { authorization: `Bearer ${opaque}` } }).then((r) => r.text()));
    await count('flow (openid read, fresh browser: login, consent skipped)', () => authorizationCodeFlow(new Browser(url), target, { scope: 'openid read' }));
    await count('jwks', () => fetch(new URL('/jwks', url)).then((r) => r.text()));
  } finally {
    monitor.disconnect();
    await server.close();
  }
} finally {
  monitorConnection.disconnect();
  await admin.raw(`drop database if exists ${database} with (force)`);
  await admin.destroy();
  const cleaner = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await cleaner.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await cleaner.unlink(...keys);
  } while (cursor !== '0');
  await cleaner.quit();
}
