import type { Knex } from 'knex';

/**
 * WebAuthn credentials (passkeys). The credential id is the authenticator's, base64url; the user
 * handle is what the authenticator stores beside a discoverable credential and returns at sign-in.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('passkeys', (t) => {
    t.text('id').primary();
    t.text('account_id').notNullable().references('id').inTable('accounts').onDelete('CASCADE');
    t.text('user_handle').notNullable();
    // COSE public key as the authenticator gave it
    t.binary('public_key').notNullable();
    t.bigInteger('counter').notNullable().defaultTo(0);
    t.jsonb('transports').notNullable().defaultTo('[]');
    t.text('name').notNullable();
    // 'singleDevice' (device-bound) or 'multiDevice' (synced)
    t.text('device_type').notNullable();
    t.boolean('backed_up').notNullable().defaultTo(false);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('last_used_at', { useTz: true });
    t.index(['account_id']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('passkeys');
}
