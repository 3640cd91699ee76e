import type { Knex } from 'knex';

/**
 * Who may be granted an API's scopes: `open` — every user, as before roles existed; `roles` —
 * only what the user's (or, for client credentials, the client's) roles allow. APIs registered
 * before this migration stay `open`, so nobody loses access on upgrade; new ones default to `roles`.
 */
export async function up(db: Knex): Promise<void> {
  await db.raw("alter table resource_servers add column access text not null default 'open'");
  await db.raw("alter table resource_servers alter column access set default 'roles'");
  await db.raw("alter table resource_servers add constraint resource_servers_access check (access in ('open', 'roles'))");
}

export async function down(db: Knex): Promise<void> {
  await db.raw('alter table resource_servers drop column access');
}
