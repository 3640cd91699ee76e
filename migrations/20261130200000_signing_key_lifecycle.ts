import type { Knex } from 'knex';

/**
 * Signing keys move next → current → previous → retired. `deactivated_at` is when a key stopped
 * signing (became previous): it stays published until every token it signed has expired. At most
 * one next key per algorithm, as there is at most one current, so instances starting or checking
 * the schedule at the same moment cannot publish two.
 */
export async function up(db: Knex): Promise<void> {
  await db.raw('alter table signing_keys add column deactivated_at timestamptz');
  await db.raw("create unique index signing_keys_one_next on signing_keys (alg) where status = 'next'");
}

export async function down(db: Knex): Promise<void> {
  await db.raw('drop index signing_keys_one_next');
  await db.raw('alter table signing_keys drop column deactivated_at');
}
