import type { Knex } from 'knex';

/**
 * Dynamic client registration (RFC 7591): clients registered through /reg are marked, and when
 * they first got a token, so registrations never used can be swept. Initial access tokens are
 * kept as SHA-256 hashes of their values (high-entropy random values, so no slow hash is needed).
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('clients', (t) => {
    t.boolean('dynamic').notNullable().defaultTo(false);
    t.timestamp('first_used_at', { useTz: true });
  });
  await db.raw('create index clients_dynamic_unused on clients (created_at) where dynamic and first_used_at is null');
  await db.schema.createTable('initial_access_tokens', (t) => {
    t.text('id').primary();
    t.text('token_hash').notNullable().unique();
    t.text('description').notNullable().defaultTo('');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    // null: any number of registrations until it expires
    t.integer('uses_left');
    t.integer('uses').notNullable().defaultTo(0);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('initial_access_tokens');
  await db.raw('drop index if exists clients_dynamic_unused');
  await db.schema.alterTable('clients', (t) => {
    t.dropColumn('first_used_at');
    t.dropColumn('dynamic');
  });
}
