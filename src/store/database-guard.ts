import type { Database } from './db.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import { StorageUnavailable } from './unavailable.ts';

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

/**
 * Puts a circuit breaker in front of the pool: every query and transaction of this database
 * acquires its connection here, so while PostgreSQL cannot be reached a request fails at once
 * with StorageUnavailable instead of waiting for a connection, and the first connection that
 * can be made again closes the breaker.
 */
export function guardDatabase(db: Database, breaker = new CircuitBreaker(1000)): CircuitBreaker {
  const client = db.client as PooledClient;
  const acquire = client.acquireConnection.bind(client);
  client.acquireConnection = async () => {
    if (!breaker.allow()) throw new StorageUnavailable('database');
    try {
      const connection = await acquire();
      breaker.succeeded();
      return connection;
    } catch (error) {
      if (!isDatabaseUnreachable(error)) throw error;
      // a full pool under load is not an outage: answer this request, keep the breaker closed
      if ((error as Error).name !== 'KnexTimeoutError') breaker.failed();
      throw new StorageUnavailable('database', error);
    }
  };
  return breaker;
}
