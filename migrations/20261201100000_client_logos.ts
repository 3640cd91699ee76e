import type { Knex } from 'knex';

/**
 * Client logos are stored and served by Postern itself, so that pages never load an image from
 * another origin. The client row names the current logo by its content hash; the bytes live apart,
 * so that reading registrations never drags images along.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('clients', (t) => {
    t.text('logo_sha256');
    t.text('logo_type');
  });
  await db.schema.createTable('client_logos', (t) => {
    t.text('client_id').primary().references('client_id').inTable('clients').onDelete('CASCADE');
    t.binary('body').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('client_logos');
  await db.schema.alterTable('clients', (t) => {
    t.dropColumn('logo_type');
    t.dropColumn('logo_sha256');
  });
}
