import type { Database } from './db.ts';

export interface QueryResult<Row> {
  rows: Row[];
  /** rows changed by an UPDATE/DELETE/INSERT */
  affected: number;
}

/** A connection as the two drivers hand it out: node-postgres' Client or PGlite. */
interface DriverConnection {
  query(config: { name: string; text: string; values: unknown[] } | string, values?: unknown[]): Promise<{ rows: unknown[]; rowCount?: number | null; affectedRows?: number }>;
}

/**
 * Runs one statement on a connection from the database's own pool, bypassing the query builder,
 * as a named prepared statement on PostgreSQL (parsed and planned once per connection).
 * For the few statements on the hot path of every token request; everything else uses knex.
 */
export async function runPrepared<Row>(db: Database, name: string, text: string, values: unknown[]): Promise<QueryResult<Row>> {
  // knex types its driver connections as `any`; DriverConnection names the part used here
  const connection = (await db.client.acquireConnection()) as DriverConnection;
  try {
    const result = db.client.config.client === 'pg' ? await connection.query({ name, text, values }) : await connection.query(text, values);
    return { rows: result.rows as Row[], affected: result.rowCount ?? result.affectedRows ?? 0 };
  } finally {
    await db.client.releaseConnection(connection);
  }
}
