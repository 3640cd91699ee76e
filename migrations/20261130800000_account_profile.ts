import type { Knex } from 'knex';

/** The standard claims beyond names and email (OpenID Connect Core §5.1), as one JSON object. */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('accounts', (t) => {
    t.jsonb('profile').notNullable().defaultTo('{}');
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('accounts', (t) => {
    t.dropColumn('profile');
  });
}
