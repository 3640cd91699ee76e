import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('accounts', (t) => {
    t.text('id').primary();
    t.text('username').notNullable();
    t.text('email');
    t.boolean('email_verified').notNullable().defaultTo(false);
    t.text('name');
    t.text('given_name');
    t.text('family_name');
    t.text('password_hash');
    t.boolean('disabled').notNullable().defaultTo(false);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
  });
  await db.raw('create unique index accounts_username_lower on accounts (lower(username))');
  await db.raw('create unique index accounts_email_lower on accounts (lower(email)) where email is not null');

  await db.schema.createTable('clients', (t) => {
    t.text('client_id').primary();
    t.text('name').notNullable();
    t.text('client_secret_sealed');
    t.boolean('first_party').notNullable().defaultTo(false);
    t.jsonb('metadata').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
  });

  await db.schema.createTable('resource_servers', (t) => {
    t.text('identifier').primary();
    t.text('name').notNullable();
    t.boolean('is_default').notNullable().defaultTo(false);
    t.integer('access_token_ttl');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
  });
  await db.raw('create unique index resource_servers_one_default on resource_servers (is_default) where is_default');

  await db.schema.createTable('resource_server_scopes', (t) => {
    t.text('resource_server').notNullable().references('identifier').inTable('resource_servers').onDelete('CASCADE');
    t.text('scope').notNullable();
    t.text('description');
    t.primary(['resource_server', 'scope']);
  });

  // Durable oidc-provider models (Grant, RefreshToken, Session, …): one row per instance.
  await db.schema.createTable('oidc_payloads', (t) => {
    t.text('model').notNullable();
    t.text('id').notNullable();
    t.jsonb('payload').notNullable();
    t.text('grant_id');
    t.text('uid');
    t.text('user_code');
    t.timestamp('expires_at', { useTz: true });
    t.timestamp('consumed_at', { useTz: true });
    t.primary(['model', 'id']);
  });
  await db.raw('create index oidc_payloads_grant_id on oidc_payloads (grant_id) where grant_id is not null');
  await db.raw('create index oidc_payloads_uid on oidc_payloads (model, uid) where uid is not null');
  await db.raw('create index oidc_payloads_user_code on oidc_payloads (model, user_code) where user_code is not null');
  await db.raw('create index oidc_payloads_expires_at on oidc_payloads (expires_at) where expires_at is not null');

  await db.schema.createTable('signing_keys', (t) => {
    t.text('kid').primary();
    t.text('alg').notNullable();
    t.text('status').notNullable();
    t.jsonb('public_jwk').notNullable();
    t.text('private_jwk_sealed').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('activated_at', { useTz: true });
    t.timestamp('retired_at', { useTz: true });
  });
  await db.raw("alter table signing_keys add constraint signing_keys_status check (status in ('next', 'current', 'previous', 'retired'))");
  await db.raw("create unique index signing_keys_one_current on signing_keys (alg) where status = 'current'");

  await db.schema.createTable('audit_events', (t) => {
    t.bigIncrements('id').primary();
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.text('type').notNullable();
    t.text('account_id');
    t.text('client_id');
    t.text('ip');
    t.text('user_agent');
    t.jsonb('details').notNullable().defaultTo('{}');
  });
  await db.raw('create index audit_events_at on audit_events (at)');
  await db.raw('create index audit_events_account on audit_events (account_id, at) where account_id is not null');
}

export async function down(db: Knex): Promise<void> {
  for (const table of ['audit_events', 'signing_keys', 'oidc_payloads', 'resource_server_scopes', 'resource_servers', 'clients', 'accounts']) {
    await db.schema.dropTableIfExists(table);
  }
}
