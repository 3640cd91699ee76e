import type { Database } from './db.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import { StorageUnavailable } from './unavailable.ts';
import { observeStorage } from '../metrics/index.ts';

// SQLSTATE class 08 (connection exception), server shutting down or starting, too many connections
const UNREACHABLE_SQLSTATE = /^(08...|57P0[123]|53300)$/;
const UNREACHABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
const UNREACHABLE_MESSAGE = /Connection terminated|connection timeout|timeout expired|Client has encountered a connection error|Connection is closed/i;

/** Whether a database error means the server could not be reached (as opposed to a refused statement). */
export function isDatabaseUnreachable(error: unknown): boolean {
  if (error instanceof StorageUnavailable) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (UNREACHABLE_SQLSTATE.test(code) || UNREACHABLE_ERRNO.has(code))) return true;
  // knex's pool gave up waiting for a connection
  if (error.name === 'KnexTimeoutError') return true;
  return UNREACHABLE_MESSAGE.test(error.message);
}

/** PostgreSQL refused a value it cannot store as text (a NUL character, an invalid byte sequence): bad input, not an outage. */
export function isUnstorableText(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '22021' || code === '22P05';
}

/** `error` as StorageUnavailable when it means the database could not be reached; otherwise itself. */
export function asDatabaseUnavailable(error: unknown): unknown {
  if (error instanceof StorageUnavailable) return error;
  return isDatabaseUnreachable(error) ? new StorageUnavailable('database', error) : error;
}

/** The part of knex's client this guard wraps; knex types its connections as `any`. */
interface PooledClient {
  acquireConnection(): Promise<unknown>;
}

/** The part of a pg connection knex calls: `query(config, callback)`, for every statement, in transactions too. */
interface DriverConnection {
  query(...args: unknown[]): unknown;
}

const timed = new WeakSet<object>();

/** Measures each statement on `connection` (once per connection: the pool hands it out again and again). */
function timeStatements(connection: DriverConnection): void {
  if (timed.has(connection)) return;
  timed.add(connection);
  const query = connection.query.bind(connection);
  connection.query = (...args: unknown[]) => {
    const callback = args[1];
    if (args.length !== 2 || typeof callback !== 'function') return query(...args);
    const started = performance.now();
    return query(args[0], (error: unknown, response: unknown) => {
      observeStorage('database', (performance.now() - started) / 1000, error ? (isDatabaseUnreachable(error) ? 'unavailable' : 'failed') : undefined);
      (callback as (error: unknown, response: unknown) => void)(error, response);
    });
  };
}

/**
 * Puts a circuit breaker in front of the pool, and a timer on every statement of its connections: every query and transaction of this database
 * acquires its connection here, so while PostgreSQL cannot be reached a request fails at once
 * with StorageUnavailable instead of waiting for a connection, and the first connection that
 * can be made again closes the breaker.
 */
export function guardDatabase(db: Database, breaker = new CircuitBreaker(1000)): CircuitBreaker {
  const client = db.client as PooledClient;
  const acquire = client.acquireConnection.bind(client);
  client.acquireConnection = async () => {
    if (!breaker.allow()) {
      observeStorage('database', null, 'unavailable');
      throw new StorageUnavailable('database');
    }
    try {
      const connection = await acquire();
      breaker.succeeded();
      timeStatements(connection as DriverConnection);
      return connection;
    } catch (error) {
      if (!isDatabaseUnreachable(error)) throw error;
      observeStorage('database', null, 'unavailable');
      // a full pool under load is not an outage: answer this request, keep the breaker closed
      if ((error as Error).name !== 'KnexTimeoutError') breaker.failed();
      throw new StorageUnavailable('database', error);
    }
  };
  return breaker;
}
