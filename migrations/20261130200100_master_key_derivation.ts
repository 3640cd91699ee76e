import type { Knex } from 'knex';

/**
 * The root that purpose-bound keys are derived from (token id HMACs, recovery code hashes, refresh
 * token successors, the default cookie key), sealed under the master key. Until the master key is
 * first rotated there is no row and the master key is its own root; `postern master-key rotate`
 * records the key used so far here, so that derived keys outlive the master key.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('master_key_derivation', (t) => {
    t.text('name').primary();
    t.text('root_sealed').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTableIfExists('master_key_derivation');
}
