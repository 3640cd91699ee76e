import type { Knex } from 'knex';
import * as initial from '../../migrations/20261124000000_initial.ts';
import * as signInSecurity from '../../migrations/20261124010000_sign_in_security.ts';
import * as resourceServerIntrospectors from '../../migrations/20261129100000_resource_server_introspectors.ts';
import * as trustedDevices from '../../migrations/20261129100100_trusted_devices.ts';
import * as roles from '../../migrations/20261129300000_roles.ts';
import * as resourceServerAccess from '../../migrations/20261129300100_resource_server_access.ts';
import * as auditActor from '../../migrations/20261130100000_audit_actor.ts';
import * as signingKeyLifecycle from '../../migrations/20261130200000_signing_key_lifecycle.ts';
import * as masterKeyDerivation from '../../migrations/20261130200100_master_key_derivation.ts';
import * as logoutDeliveries from '../../migrations/20261130300000_logout_deliveries.ts';
import * as accountProfile from '../../migrations/20261130800000_account_profile.ts';
import * as clientLogos from '../../migrations/20261201100000_client_logos.ts';
import * as clientRegistration from '../../migrations/20261201400000_client_registration.ts';
import * as passkeys from '../../migrations/20261201600000_passkeys.ts';

interface Migration {
  up(db: Knex): Promise<void>;
  down(db: Knex): Promise<void>;
}

// Listed explicitly so migrations run the same from source, from the CLI and from tests,
// whatever the working directory.
const migrations: ReadonlyArray<readonly [string, Migration]> = [
  ['20261124000000_initial', initial],
  ['20261124010000_sign_in_security', signInSecurity],
  ['20261129100000_resource_server_introspectors', resourceServerIntrospectors],
  ['20261129100100_trusted_devices', trustedDevices],
  ['20261129300000_roles', roles],
  ['20261129300100_resource_server_access', resourceServerAccess],
  ['20261130100000_audit_actor', auditActor],
  ['20261130200000_signing_key_lifecycle', signingKeyLifecycle],
  ['20261130200100_master_key_derivation', masterKeyDerivation],
  ['20261130300000_logout_deliveries', logoutDeliveries],
  ['20261130800000_account_profile', accountProfile],
  ['20261201100000_client_logos', clientLogos],
  ['20261201400000_client_registration', clientRegistration],
  ['20261201600000_passkeys', passkeys],
];

/** Every migration's name, oldest first. */
export const MIGRATION_NAMES: readonly string[] = migrations.map(([name]) => name);

const source: Knex.MigrationSource<string> = {
  getMigrations: async () => migrations.map(([name]) => name),
  getMigrationName: (name) => name,
  getMigration: async (name) => {
    const found = migrations.find(([candidate]) => candidate === name);
    if (!found) throw new Error(`unknown migration ${name}`);
    return found[1];
  },
};

// any fixed number: the advisory lock that serialises migrations between instances starting together
const MIGRATION_LOCK = 0x706f7374;

async function latest(db: Knex): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({ migrationSource: source })) as [number, string[]];
  return applied;
}

/**
 * Applies pending migrations. On PostgreSQL, instances starting at the same moment take turns under
 * an advisory lock (knex's own lock table cannot protect the creation of its tables). PGlite serves
 * one process, so it needs none.
 */
export async function migrateToLatest(db: Knex): Promise<string[]> {
  if (db.client.config.client !== 'pg') return latest(db);
  const connection: unknown = await db.client.acquireConnection();
  try {
    await db.raw('select pg_advisory_lock(?)', [MIGRATION_LOCK]).connection(connection);
    try {
      return await latest(db);
    } finally {
      await db.raw('select pg_advisory_unlock(?)', [MIGRATION_LOCK]).connection(connection);
    }
  } finally {
    await db.client.releaseConnection(connection);
  }
}

export async function migrateDownAll(db: Knex): Promise<void> {
  await db.migrate.rollback({ migrationSource: source }, true);
}
