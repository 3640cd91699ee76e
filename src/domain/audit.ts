import type { Database } from '../store/db.ts';

export interface AuditEvent {
  type: string;
  accountId?: string | undefined;
  clientId?: string | undefined;
  ip?: string | undefined;
  userAgent?: string | undefined;
  /** never a secret: no password, token, code or cookie */
  details?: Record<string, unknown> | undefined;
}

export interface StoredAuditEvent extends AuditEvent {
  id: string;
  at: Date;
}

export class AuditLog {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async record(event: AuditEvent): Promise<void> {
    await this.#db('audit_events').insert({
      type: event.type,
      account_id: event.accountId ?? null,
      client_id: event.clientId ?? null,
      ip: event.ip ?? null,
      user_agent: event.userAgent?.slice(0, 512) ?? null,
      details: JSON.stringify(event.details ?? {}),
    });
  }

  async recent(limit = 100, accountId?: string): Promise<StoredAuditEvent[]> {
    const query = this.#db('audit_events').orderBy('id', 'desc').limit(limit);
    if (accountId) query.where({ account_id: accountId });
    const rows = await query;
    return rows.map((row) => ({
      id: String(row.id),
      at: new Date(row.at),
      type: row.type,
      accountId: row.account_id ?? undefined,
      clientId: row.client_id ?? undefined,
      ip: row.ip ?? undefined,
      userAgent: row.user_agent ?? undefined,
      details: typeof row.details === 'string' ? JSON.parse(row.details) : row.details,
    }));
  }
}
