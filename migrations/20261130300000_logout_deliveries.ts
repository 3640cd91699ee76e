import type { Knex } from 'knex';

/**
 * OpenID Connect Back-Channel Logout: one row per application to tell that a session ended. The
 * row holds the logout token's claims, not a signed token: each attempt is signed when it is made,
 * with the signing key current then, and keeps the row's jti so an application can drop a repeat.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('logout_deliveries', (t) => {
    t.bigIncrements('id').primary();
    t.text('client_id').notNullable();
    t.text('uri').notNullable();
    t.text('sub').notNullable();
    t.text('sid');
    t.text('jti').notNullable().unique();
    // what ended the session: logout, session_ended, signed_out_everywhere, password_reset, account_deleted…
    t.text('reason').notNullable();
    t.text('state').notNullable().defaultTo('pending');
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('next_attempt_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('last_attempt_at', { useTz: true });
    t.text('last_error');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    // when attempts started (again): POSTERN_LOGOUT_MAX_AGE counts from here
    t.timestamp('queued_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('finished_at', { useTz: true });
  });
  await db.raw("alter table logout_deliveries add constraint logout_deliveries_state check (state in ('pending', 'delivered', 'failed'))");
  // one notice per application and session, whichever way (or how many times) the session ended
  await db.raw('create unique index logout_deliveries_client_sid on logout_deliveries (client_id, sid) where sid is not null');
  await db.raw("create index logout_deliveries_due on logout_deliveries (next_attempt_at) where state = 'pending'");
  await db.raw('create index logout_deliveries_created on logout_deliveries (created_at)');
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('logout_deliveries');
}
