import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Database } from '../store/db.ts';
import { InvalidRequest } from './errors.ts';

export type DeliveryState = 'pending' | 'delivered' | 'failed';
export const DELIVERY_STATES: readonly DeliveryState[] = ['pending', 'delivered', 'failed'];

/** What ended the session an application is told about. */
export type LogoutReason = 'logout' | 'session_ended' | 'signed_out_everywhere' | 'password_reset' | 'account_deleted' | 'admin';

/** One application to tell that one session (sid) of one user (sub) ended. */
export interface LogoutNotice {
  clientId: string;
  uri: string;
  sub: string;
  sid: string | undefined;
  reason: LogoutReason;
}

/** The part of the engine's Session record that says which applications it signed in. */
export interface EndedSession {
  accountId: string;
  authorizations?: Record<string, { sid?: string | undefined } | undefined> | undefined;
}

export interface LogoutDelivery {
  id: string;
  clientId: string;
  uri: string;
  sub: string;
  sid: string | null;
  jti: string;
  reason: LogoutReason;
  state: DeliveryState;
  attempts: number;
  /** when the next attempt is due; null once delivered or failed */
  nextAttemptAt: Date | null;
  lastAttemptAt: Date | null;
  lastError: string | null;
  createdAt: Date;
  /** when attempts started, or started again (`retryFailed`) */
  queuedAt: Date;
  finishedAt: Date | null;
}

export interface DeliveryFilter {
  state?: DeliveryState | undefined;
  clientId?: string | undefined;
  sub?: string | undefined;
  /** newest first; default 50, at most 1000 */
  limit?: number | undefined;
}

interface DeliveryRow {
  id: string | number;
  client_id: string;
  uri: string;
  sub: string;
  sid: string | null;
  jti: string;
  reason: LogoutReason;
  state: DeliveryState;
  attempts: number;
  next_attempt_at: Date | string;
  last_attempt_at: Date | string | null;
  last_error: string | null;
  created_at: Date | string;
  queued_at: Date | string;
  finished_at: Date | string | null;
}

const date = (value: Date | string | null): Date | null => (value === null ? null : new Date(value));

function toDelivery(row: DeliveryRow): LogoutDelivery {
  return {
    id: String(row.id),
    clientId: row.client_id,
    uri: row.uri,
    sub: row.sub,
    sid: row.sid,
    jti: row.jti,
    reason: row.reason,
    state: row.state,
    attempts: row.attempts,
    nextAttemptAt: row.state === 'pending' ? new Date(row.next_attempt_at) : null,
    lastAttemptAt: date(row.last_attempt_at),
    lastError: row.last_error,
    createdAt: new Date(row.created_at),
    queuedAt: new Date(row.queued_at),
    finishedAt: date(row.finished_at),
  };
}

/**
 * The durable queue of Back-Channel Logout notices (OpenID Connect Back-Channel Logout 1.0).
 * Whatever ends a session queues one notice per application the session signed in that
 * registered a `backchannel_logout_uri`; every server's LogoutDeliveryWorker works the queue.
 */
export class LogoutDeliveries {
  readonly #db: Database;
  readonly #queued = new Set<() => void>();

  constructor(db: Database) {
    this.#db = db;
  }

  /** Called after notices are queued in this process (the local worker wakes instead of waiting for its poll). */
  onQueued(listener: () => void): () => void {
    this.#queued.add(listener);
    return () => this.#queued.delete(listener);
  }

  /**
   * Queues notices. One per application and session: a session ended twice (or by two paths at
   * once) is told once. `db` may be a transaction the ending is part of.
   */
  async queue(notices: readonly LogoutNotice[], db: Database = this.#db): Promise<number> {
    if (notices.length === 0) return 0;
    const rows = notices.map((notice) => ({
      client_id: notice.clientId,
      uri: notice.uri,
      sub: notice.sub,
      sid: notice.sid ?? null,
      jti: randomUUID(),
      reason: notice.reason,
    }));
    const inserted = await db('logout_deliveries')
      .insert(rows)
      .onConflict(db.raw('(client_id, sid) where sid is not null'))
      .ignore()
      .returning<Array<{ id: string }>>('id');
    if (inserted.length > 0) {
      const notify = () => {
        for (const listener of this.#queued) listener();
      };
      // queued in a transaction: the rows are there for the worker once it commits
      if (db.isTransaction) (db as Knex.Transaction).executionPromise.then(notify, () => undefined);
      else notify();
    }
    return inserted.length;
  }

  /**
   * Queues a notice for each application these sessions signed in that has a Back-Channel Logout
   * URI. Reads the registrations in `db` (a transaction, when the ending is one).
   */
  async queueForSessions(sessions: readonly EndedSession[], reason: LogoutReason, db: Database = this.#db): Promise<number> {
    const signedIn = sessions.flatMap((session) =>
      Object.entries(session.authorizations ?? {}).map(([clientId, authorization]) => ({ clientId, sub: session.accountId, sid: authorization?.sid })),
    );
    if (signedIn.length === 0) return 0;
    const clientIds = [...new Set(signedIn.map((entry) => entry.clientId))];
    const registered = await db('clients')
      .whereIn('client_id', clientIds)
      .whereRaw("metadata->>'backchannel_logout_uri' is not null")
      .select<Array<{ client_id: string; uri: string }>>('client_id', db.raw("metadata->>'backchannel_logout_uri' as uri"));
    const uris = new Map(registered.map((row) => [row.client_id, row.uri]));
    const notices = signedIn.flatMap(({ clientId, sub, sid }): LogoutNotice[] => {
      const uri = uris.get(clientId);
      return uri ? [{ clientId, uri, sub, sid, reason }] : [];
    });
    return this.queue(notices, db);
  }

  /** Queues notices for every session of the account still stored (before they are removed). */
  async queueForAccount(accountId: string, reason: LogoutReason, db: Database = this.#db): Promise<number> {
    const rows = await db('oidc_payloads')
      .where('model', 'Session')
      .whereRaw("payload->>'accountId' = ?", [accountId])
      .select<Array<{ payload: EndedSession | string }>>('payload');
    const sessions = rows.map(({ payload }) => (typeof payload === 'string' ? (JSON.parse(payload) as EndedSession) : payload));
    return this.queueForSessions(sessions, reason, db);
  }

  /** Deliveries, newest first: what was told to whom, and what is still being tried. */
  async list(filter: DeliveryFilter = {}): Promise<LogoutDelivery[]> {
    const limit = filter.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new InvalidRequest('limit must be a whole number from 1 to 1000');
    if (filter.state !== undefined && !DELIVERY_STATES.includes(filter.state)) {
      throw new InvalidRequest(`state must be one of ${DELIVERY_STATES.join(', ')}`);
    }
    const query = this.#db<DeliveryRow>('logout_deliveries').orderBy('id', 'desc').limit(limit);
    if (filter.state) query.where('state', filter.state);
    if (filter.clientId) query.where('client_id', filter.clientId);
    if (filter.sub) query.where('sub', filter.sub);
    return (await query).map(toDelivery);
  }

  /** How many deliveries are in each state. */
  async counts(): Promise<Record<DeliveryState, number>> {
    const rows = await this.#db('logout_deliveries').groupBy('state').select<Array<{ state: DeliveryState; count: string | number }>>('state', this.#db.raw('count(*) as count'));
    const counts: Record<DeliveryState, number> = { pending: 0, delivered: 0, failed: 0 };
    for (const row of rows) counts[row.state] = Number(row.count);
    return counts;
  }

  /**
   * Takes up to `limit` due deliveries for one attempt each. The attempt is counted and the
   * row is leased (not due again for `leaseMs`) in one statement; rows another instance holds are
   * skipped, so each attempt is made by one instance. A process that dies mid-attempt leaves the
   * row to be taken again when the lease runs out.
   */
  async claimDue(limit: number, leaseMs: number): Promise<LogoutDelivery[]> {
    const due = this.#db('logout_deliveries')
      .select('id')
      .where('state', 'pending')
      .andWhere('next_attempt_at', '<=', this.#db.fn.now())
      .orderBy('next_attempt_at')
      .limit(limit)
      .forUpdate()
      .skipLocked();
    const rows = await this.#db('logout_deliveries')
      .whereIn('id', due)
      .update({
        attempts: this.#db.raw('attempts + 1'),
        last_attempt_at: this.#db.fn.now(),
        next_attempt_at: this.#db.raw("now() + ? * interval '1 millisecond'", [leaseMs]),
      })
      .returning<DeliveryRow[]>('*');
    return rows.map(toDelivery);
  }

  async markDelivered(id: string): Promise<void> {
    await this.#db('logout_deliveries').where({ id, state: 'pending' }).update({ state: 'delivered', last_error: null, finished_at: this.#db.fn.now() });
  }

  /** Records a failed attempt: tried again after `retryInMs`, or, with undefined, given up (`failed`). */
  async markAttemptFailed(id: string, error: string, retryInMs: number | undefined): Promise<void> {
    const update =
      retryInMs === undefined
        ? { state: 'failed', last_error: error, finished_at: this.#db.fn.now() }
        : { last_error: error, next_attempt_at: this.#db.raw("now() + ? * interval '1 millisecond'", [retryInMs]) };
    await this.#db('logout_deliveries').where({ id, state: 'pending' }).update(update);
  }

  /**
   * Starts failed deliveries again from their first attempt (an application that was down for
   * longer than the retries last): one by id, or all of one client, or all. Returns how many.
   */
  async retryFailed(filter: { id?: string | undefined; clientId?: string | undefined } = {}): Promise<number> {
    if (filter.id !== undefined && !/^\d{1,18}$/.test(filter.id)) throw new InvalidRequest('a delivery id is a number');
    const query = this.#db('logout_deliveries').where('state', 'failed');
    if (filter.id !== undefined) query.andWhere('id', filter.id);
    if (filter.clientId !== undefined) query.andWhere('client_id', filter.clientId);
    const restarted = await query
      .update({ state: 'pending', attempts: 0, next_attempt_at: this.#db.fn.now(), queued_at: this.#db.fn.now(), finished_at: null })
      .returning<Array<{ id: string }>>('id');
    if (restarted.length > 0) for (const listener of this.#queued) listener();
    return restarted.length;
  }

  /** Removes delivered and failed rows finished more than `olderThanSeconds` ago. */
  async purgeFinished(olderThanSeconds: number): Promise<number> {
    const removed = await this.#db('logout_deliveries')
      .whereIn('state', ['delivered', 'failed'])
      .andWhere('finished_at', '<', this.#db.raw("now() - ? * interval '1 second'", [olderThanSeconds]))
      .delete()
      .returning<Array<{ id: string }>>('id');
    return removed.length;
  }
}
