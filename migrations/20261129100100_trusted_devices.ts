import type { Knex } from 'knex';

/**
 * Browsers trusted through the sign-in lockout (device cookies), kept per account so they can be
 * counted, capped and ended. A device counts only while its generation is the account's: a
 * password change or "sign out everywhere" moves the account to the next generation.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('accounts', (t) => {
    t.integer('device_generation').notNullable().defaultTo(0);
  });
  await db.schema.createTable('trusted_devices', (t) => {
    t.text('account_id').notNullable().references('id').inTable('accounts').onDelete('CASCADE');
    // SHA-256 of the device id the cookie carries
    t.text('device_hash').notNullable();
    t.integer('generation').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('last_used_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.primary(['account_id', 'device_hash']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('trusted_devices');
  await db.schema.alterTable('accounts', (t) => {
    t.dropColumn('device_generation');
  });
}
