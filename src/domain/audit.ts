import type { Database } from '../store/db.ts';

export interface AuditEvent {
  type: string;
  accountId?: string | undefined;
  clientId?: string | undefined;
  /** who made the change: `cli`, or `client:<client_id>` for a client of the admin API */
  actor?: string | undefined;
  ip?: string | undefined;
  userAgent?: string | undefined;
  /** never a secret: no password, token, code or cookie */
  details?: Record<string, unknown> | undefined;
}

export interface RecordedAuditEvent {
  id: string;
  at: Date;
  type: string;
  accountId: string | null;
  clientId: string | null;
  actor: string | null;
  ip: string | null;
  userAgent: string | null;
  details: Record<string, unknown>;
}

export interface AuditFilter {
  accountId?: string | undefined;
  clientId?: string | undefined;
  type?: string | undefined;
  actor?: string | undefined;
  /** inclusive */
  since?: Date | undefined;
  /** exclusive */
  until?: Date | undefined;
}

interface AuditRow {
  id: string | number;
  at: Date | string;
  type: string;
  account_id: string | null;
  client_id: string | null;
  actor: string | null;
  ip: string | null;
  user_agent: string | null;
  details: Record<string, unknown> | string;
}

/** The actor of a change made by a client of the admin API. */
export function clientActor(clientId: string): string {
  return `client:${clientId}`;
}

export class AuditLog {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** With `db`, inside that transaction: the event is kept only if the change it records is. */
  async record(event: AuditEvent, db: Database = this.#db): Promise<void> {
    await db('audit_events').insert({
      type: event.type,
      account_id: event.accountId ?? null,
      client_id: event.clientId ?? null,
      actor: event.actor ?? null,
      ip: event.ip ?? null,
      user_agent: event.userAgent?.slice(0, 512) ?? null,
      details: JSON.stringify(event.details ?? {}),
    });
  }

  /** Events matching `filter`, newest first: at most `limit`, older than the event `before` (keyset pagination). */
  async page(filter: AuditFilter, options: { before?: string | undefined; limit: number }): Promise<RecordedAuditEvent[]> {
    const query = this.#db<AuditRow>('audit_events').orderBy('id', 'desc').limit(options.limit);
    if (options.before !== undefined) query.where('id', '<', options.before);
    if (filter.accountId !== undefined) query.where('account_id', filter.accountId);
    if (filter.clientId !== undefined) query.where('client_id', filter.clientId);
    if (filter.type !== undefined) query.where('type', filter.type);
    if (filter.actor !== undefined) query.where('actor', filter.actor);
    if (filter.since !== undefined) query.where('at', '>=', filter.since);
    if (filter.until !== undefined) query.where('at', '<', filter.until);
    return (await query).map((row) => ({
      id: String(row.id),
      at: new Date(row.at),
      type: row.type,
      accountId: row.account_id,
      clientId: row.client_id,
      actor: row.actor,
      ip: row.ip,
      userAgent: row.user_agent,
      details: typeof row.details === 'string' ? (JSON.parse(row.details) as Record<string, unknown>) : row.details,
    }));
  }
}
