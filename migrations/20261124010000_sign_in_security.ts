import type { Knex } from 'knex';

/** Second factor, recovery codes, one-time account tokens (reset, email verification), devices. */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('accounts', (t) => {
    // AES-256-GCM under the master key (store/envelope.ts); set at enrolment, confirmed when enabled_at is set
    t.text('totp_secret_sealed');
    t.timestamp('totp_enabled_at', { useTz: true });
    // sessions and refresh tokens issued before this moment are no longer honoured
    t.timestamp('sessions_valid_after', { useTz: true });
  });

  await db.schema.createTable('recovery_codes', (t) => {
    t.text('account_id').notNullable().references('id').inTable('accounts').onDelete('CASCADE');
    t.text('code_hash').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('used_at', { useTz: true });
    t.primary(['account_id', 'code_hash']);
  });

  await db.schema.createTable('account_tokens', (t) => {
    t.text('token_hash').primary();
    t.text('purpose').notNullable(); // 'password_reset' | 'email_verification'
    t.text('account_id').notNullable().references('id').inTable('accounts').onDelete('CASCADE');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('used_at', { useTz: true });
    t.index(['account_id', 'purpose']);
    t.index(['expires_at']);
  });

  // what the user sees of each browser session: the engine's Session rows carry no device data
  await db.schema.createTable('session_devices', (t) => {
    t.text('session_uid').primary();
    t.text('account_id').notNullable().references('id').inTable('accounts').onDelete('CASCADE');
    t.text('user_agent');
    t.text('ip');
    t.timestamp('started_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('last_seen_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.index(['account_id']);
  });

  // a user's sessions and granted applications (the account pages); partial, so refresh-token writes pay nothing
  await db.raw("create index oidc_payloads_session_account on oidc_payloads ((payload->>'accountId')) where model = 'Session'");
  await db.raw("create index oidc_payloads_grant_account on oidc_payloads ((payload->>'accountId')) where model = 'Grant'");
}

export async function down(db: Knex): Promise<void> {
  await db.raw('drop index oidc_payloads_grant_account');
  await db.raw('drop index oidc_payloads_session_account');
  await db.schema.dropTable('session_devices');
  await db.schema.dropTable('account_tokens');
  await db.schema.dropTable('recovery_codes');
  await db.schema.alterTable('accounts', (t) => {
    t.dropColumn('totp_secret_sealed');
    t.dropColumn('totp_enabled_at');
    t.dropColumn('sessions_valid_after');
  });
}
