import type { Knex } from 'knex';

/**
 * Roles: named bundles of API permissions (an API's scopes), held by users and by clients (for the
 * tokens a client gets for itself). Deleting a role, an API or one of its scopes, an account or a
 * client removes what hangs on it.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('roles', (t) => {
    t.text('id').primary();
    t.text('name').notNullable();
    t.text('description');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
  });
  await db.raw('create unique index roles_name_lower on roles (lower(name))');

  await db.schema.createTable('role_permissions', (t) => {
    t.text('role_id').notNullable().references('id').inTable('roles').onDelete('CASCADE');
    t.text('resource_server').notNullable();
    t.text('scope').notNullable();
    t.foreign(['resource_server', 'scope']).references(['resource_server', 'scope']).inTable('resource_server_scopes').onDelete('CASCADE');
    t.primary(['role_id', 'resource_server', 'scope']);
    // deleting an API looks up the roles that name it
    t.index(['resource_server', 'scope']);
  });

  await db.schema.createTable('account_roles', (t) => {
    t.text('account_id').notNullable().references('id').inTable('accounts').onDelete('CASCADE');
    t.text('role_id').notNullable().references('id').inTable('roles').onDelete('CASCADE');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.primary(['account_id', 'role_id']);
    t.index(['role_id']);
  });

  await db.schema.createTable('client_roles', (t) => {
    t.text('client_id').notNullable().references('client_id').inTable('clients').onDelete('CASCADE');
    t.text('role_id').notNullable().references('id').inTable('roles').onDelete('CASCADE');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.primary(['client_id', 'role_id']);
    t.index(['role_id']);
  });
}

export async function down(db: Knex): Promise<void> {
  for (const table of ['client_roles', 'account_roles', 'role_permissions', 'roles']) {
    await db.schema.dropTable(table);
  }
}
