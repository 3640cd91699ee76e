import type { Knex } from 'knex';

/**
 * Who made a change: `cli`, or `client:<client_id>` for a client of the admin API. Audit events
 * are looked up by client, account, type and actor, newest first, a page at a time.
 */
export async function up(db: Knex): Promise<void> {
  await db.raw('alter table audit_events add column actor text');
  await db.raw('create index audit_events_client_id on audit_events (client_id, id) where client_id is not null');
  await db.raw('create index audit_events_account_id on audit_events (account_id, id) where account_id is not null');
  await db.raw('create index audit_events_type_id on audit_events (type, id)');
  await db.raw('create index audit_events_actor_id on audit_events (actor, id) where actor is not null');
}

export async function down(db: Knex): Promise<void> {
  for (const index of ['audit_events_client_id', 'audit_events_account_id', 'audit_events_type_id', 'audit_events_actor_id']) {
    await db.raw(`drop index if exists ${index}`);
  }
  await db.raw('alter table audit_events drop column actor');
}
