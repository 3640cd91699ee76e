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
      ip: event.ip ?? null,
      user_agent: event.userAgent?.slice(0, 512) ?? null,
      details: JSON.stringify(event.details ?? {}),
    });
  }
}
