import type { Adapter, AdapterPayload } from 'oidc-provider';
import { deletedRows, type Database } from '../../store/db.ts';
import { runPrepared } from '../../store/prepared.ts';
import type { RemovedRecord } from '../../store/record-cache.ts';
import { alreadyConsumed } from './already-consumed.ts';
import { fromJsonb, toJsonb } from './jsonb-safe.ts';
import { CONTESTED_MODELS } from './model-tiers.ts';

interface PayloadRow {
  /** parsed jsonb, strings still encoded by `toJsonb` */
  payload: unknown;
  consumed_at: Date | string | null;
  expires_at: Date | string | null;
}

/** A payload with the moment (epoch ms) its row stops being live, for caches in front of the store. */
export interface StoredPayload {
  payload: AdapterPayload;
  expiresAt: number | undefined;
}

// The statements on the path of every token request, prepared once per connection.
const LIVE = `select payload, consumed_at, expires_at from oidc_payloads where model = $1 and (expires_at is null or expires_at > now())`;
const FIND_BY_ID = `${LIVE} and id = $2`;
const FIND_BY_UID = `${LIVE} and uid = $2 limit 1`;
const CONSUME = `update oidc_payloads set consumed_at = now() where model = $1 and id = $2 and consumed_at is null`;
const UPSERT = `insert into oidc_payloads (model, id, payload, grant_id, uid, user_code, expires_at) values ($1, $2, $3, $4, $5, $6, $7)
  on conflict (model, id) do update set payload = excluded.payload, grant_id = excluded.grant_id, uid = excluded.uid,
  user_code = excluded.user_code, expires_at = excluded.expires_at`;

// One statement, so atomic: the presented row is consumed and its successor inserted, or neither.
const ROTATE = `with consumed as (
    update oidc_payloads set consumed_at = now()
    where model = $1 and id = $2 and consumed_at is null and (expires_at is null or expires_at > now())
    returning id
  )
  insert into oidc_payloads (model, id, payload, grant_id, expires_at)
  select $1, $3::text, $4::jsonb, $5::text, $6::timestamptz from consumed
  returning id`;

function epochSeconds(value: Date | string): number {
  return Math.floor(new Date(value).getTime() / 1000);
}

/** The durable tier: one row per model instance in `oidc_payloads`, jsonb payload. */
export class SqlModelStore implements Adapter {
  readonly #db: Database;
  readonly #model: string;

  constructor(db: Database, model: string) {
    this.#db = db;
    this.#model = model;
  }

  #live() {
    return this.#db('oidc_payloads')
      .where('model', this.#model)
      .andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', this.#db.fn.now()));
  }

  static #toPayload(row: PayloadRow | undefined): AdapterPayload | undefined {
    if (!row) return undefined;
    const payload = fromJsonb(row.payload) as AdapterPayload;
    return row.consumed_at ? { ...payload, consumed: epochSeconds(row.consumed_at) } : payload;
  }

  static #toStored(row: PayloadRow | undefined): StoredPayload | undefined {
    const payload = SqlModelStore.#toPayload(row);
    if (!row || !payload) return undefined;
    return { payload, expiresAt: row.expires_at === null ? undefined : new Date(row.expires_at).getTime() };
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number) {
    await runPrepared(this.#db, 'oidc_payloads_upsert', UPSERT, [
      this.#model,
      id,
      toJsonb(payload),
      payload.grantId ?? null,
      payload.uid ?? null,
      payload.userCode ?? null,
      expiresIn ? new Date(Date.now() + expiresIn * 1000) : null,
    ]);
  }

  async #findLive(column: 'id' | 'uid', value: string): Promise<PayloadRow | undefined> {
    const { rows } = await runPrepared<PayloadRow>(this.#db, `oidc_payloads_by_${column}`, column === 'id' ? FIND_BY_ID : FIND_BY_UID, [this.#model, value]);
    return rows[0];
  }

  async find(id: string) {
    return SqlModelStore.#toPayload(await this.#findLive('id', id));
  }

  async findByUid(uid: string) {
    return SqlModelStore.#toPayload(await this.#findLive('uid', uid));
  }

  async findStored(id: string): Promise<StoredPayload | undefined> {
    return SqlModelStore.#toStored(await this.#findLive('id', id));
  }

  async findStoredByUid(uid: string): Promise<StoredPayload | undefined> {
    return SqlModelStore.#toStored(await this.#findLive('uid', uid));
  }

  async findByUserCode(userCode: string) {
    return SqlModelStore.#toPayload(await this.#live().andWhere('user_code', userCode).first('payload', 'consumed_at'));
  }

  async consume(id: string) {
    // The conditional UPDATE is the atomic step: of concurrent callers exactly one changes the row.
    const { affected: changed } = await runPrepared(this.#db, 'oidc_payloads_consume', CONSUME, [this.#model, id]);
    if (changed === 0 && CONTESTED_MODELS.has(this.#model)) throw alreadyConsumed(this.#model);
  }

  /**
   * Consumes `consumedId` and inserts `successorId` in its place, atomically: true when this call
   * did it; false when the row was consumed already (another request won) or is gone.
   */
  async rotate(consumedId: string, successorId: string, payload: AdapterPayload, expiresIn: number): Promise<boolean> {
    const { rows } = await runPrepared(this.#db, 'oidc_payloads_rotate', ROTATE, [
      this.#model,
      consumedId,
      successorId,
      toJsonb(payload),
      payload.grantId ?? null,
      new Date(Date.now() + expiresIn * 1000),
    ]);
    return rows.length === 1;
  }

  async destroy(id: string) {
    await this.#db('oidc_payloads').where({ model: this.#model, id }).delete();
  }

  async revokeByGrantId(grantId: string) {
    await this.#db('oidc_payloads').where({ model: this.#model, grant_id: grantId }).delete();
  }

  /** `destroy`, answering what went (for caches in front of this store). */
  async destroyReturning(id: string): Promise<RemovedRecord[]> {
    return this.#db('oidc_payloads').where({ model: this.#model, id }).delete().returning(['model', 'id', 'uid']);
  }

  /** `revokeByGrantId`, answering what went. */
  async revokeByGrantIdReturning(grantId: string): Promise<RemovedRecord[]> {
    return this.#db('oidc_payloads').where({ model: this.#model, grant_id: grantId }).delete().returning(['model', 'id', 'uid']);
  }
}

/** Deletes expired rows in batches; returns how many went. */
export async function purgeExpiredPayloads(db: Database, batchSize = 1000): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = deletedRows(
      await db('oidc_payloads')
        .whereIn(['model', 'id'], db('oidc_payloads').select('model', 'id').where('expires_at', '<', db.fn.now()).limit(batchSize))
        .delete(),
    );
    total += deleted;
    if (deleted < batchSize) return total;
  }
}
