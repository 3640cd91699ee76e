import type { Knex } from 'knex';

/** The clients an API names as allowed to introspect the access tokens issued for it (RFC 7662 §4). */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('resource_server_introspectors', (t) => {
    t.text('resource_server').notNullable().references('identifier').inTable('resource_servers').onDelete('CASCADE');
    t.text('client_id').notNullable().references('client_id').inTable('clients').onDelete('CASCADE');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.primary(['resource_server', 'client_id']);
    // deleting a client looks its rows up by client
    t.index(['client_id']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('resource_server_introspectors');
}
