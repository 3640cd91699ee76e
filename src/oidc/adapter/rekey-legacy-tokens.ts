import type { Database } from '../../store/db.ts';
import { DURABLE_MODELS } from './model-tiers.ts';
import { HASHED_MODELS, type TokenIds } from './token-ids.ts';

const HASHED_DURABLE = [...HASHED_MODELS].filter((model) => DURABLE_MODELS.has(model));

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === '23505';
}

/**
 * Durable token records written before token values were hashed (the id is the value, which the
 * payload repeats as `jti`) move to the keyed hash of their value, without it. Run at start;
 * idempotent, and safe when several instances start at once (each row moves only from its old id).
 * Returns how many moved.
 */
export async function rekeyLegacyTokens(db: Database, tokenIds: TokenIds, batchSize = 500): Promise<number> {
  let moved = 0;
  for (;;) {
    const rows = await db('oidc_payloads')
      .whereIn('model', HASHED_DURABLE)
      .whereRaw("payload->>'jti' is not null and payload->>'jti' = id")
      .limit(batchSize)
      .select<Array<{ model: string; id: string }>>('model', 'id');
    if (rows.length === 0) return moved;
    for (const { model, id } of rows) {
      try {
        moved += await db('oidc_payloads')
          .where({ model, id })
          .update({ id: tokenIds.storageId(id), payload: db.raw("payload - 'jti'") });
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        // another instance moved it first and the old row came back from nowhere: keep the moved one
        await db('oidc_payloads').where({ model, id }).delete();
      }
    }
  }
}
