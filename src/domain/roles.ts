import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Database } from '../store/db.ts';
import { HELD_ROLES, type RecordCache, type RemovedRecord } from '../store/record-cache.ts';
import { Conflict, InvalidRequest, NotFound } from './errors.ts';
import type { ResourceServer } from './resource-servers.ts';

/** One scope of one API. */
export interface Permission {
  resourceServer: string;
  scope: string;
}

export interface Role {
  name: string;
  description: string | null;
  permissions: Permission[];
  createdAt: Date;
}

export interface RoleSummary extends Role {
  users: number;
  clients: number;
}

export interface RoleDetails extends Role {
  users: Array<{ id: string; username: string }>;
  clients: Array<{ clientId: string; name: string }>;
}

export interface NewRole {
  name: string;
  description?: string | undefined;
  permissions?: Permission[] | undefined;
}

/** Who holds a role: a user, or a client for the tokens it gets for itself (client credentials). */
export type RoleHolder = { kind: 'account'; id: string } | { kind: 'client'; id: string };

/** A role as its holder sees it: what the shared cache keeps per holder. */
export interface HeldRole {
  name: string;
  permissions: Permission[];
}

interface RoleRow {
  id: string;
  name: string;
  description: string | null;
  created_at: Date | string;
}

interface PermissionRow {
  role_id: string;
  resource_server: string;
  scope: string;
}

// starts with a letter or digit: never read as an option on a command line
const ROLE_NAME = /^[\p{L}\p{N}][\p{L}\p{N}._:/-]{0,63}$/u;

const HOLDER_TABLES = {
  account: { table: 'account_roles', column: 'account_id' },
  client: { table: 'client_roles', column: 'client_id' },
} as const;

function isViolation(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

/** The shared cache entry of what `holder` holds. */
export function heldRolesRecord(holder: RoleHolder): RemovedRecord {
  return { model: HELD_ROLES, id: `${holder.kind}:${holder.id}`, uid: null };
}

/** The cache entries of every holder of these roles. */
async function holdersOf(trx: Knex | Knex.Transaction, roleIds: readonly string[]): Promise<RemovedRecord[]> {
  if (roleIds.length === 0) return [];
  const [accounts, clients] = await Promise.all([
    trx('account_roles').whereIn('role_id', roleIds).distinct<Array<{ account_id: string }>>('account_id'),
    trx('client_roles').whereIn('role_id', roleIds).distinct<Array<{ client_id: string }>>('client_id'),
  ]);
  return [
    ...accounts.map(({ account_id: id }) => heldRolesRecord({ kind: 'account', id })),
    ...clients.map(({ client_id: id }) => heldRolesRecord({ kind: 'client', id })),
  ];
}

/**
 * Locks the roles that give a permission on the API (so nobody is granted one meanwhile) and
 * returns their holders' cache entries: deleting the API removes those permissions.
 */
export async function lockHoldersOfResourceServer(trx: Knex.Transaction, identifier: string): Promise<RemovedRecord[]> {
  const roles = await trx('roles')
    .whereIn('id', trx('role_permissions').where({ resource_server: identifier }).select('role_id'))
    .forUpdate()
    .select<Array<{ id: string }>>('id');
  return holdersOf(trx, roles.map(({ id }) => id));
}

/**
 * What a user or client holds: its roles and their permissions. The scopes it may be granted on
 * an API follow from the API's access setting.
 */
export class Entitlements {
  readonly roles: readonly HeldRole[];

  constructor(roles: readonly HeldRole[]) {
    this.roles = roles;
  }

  /** Every role name, sorted. */
  get names(): string[] {
    return this.roles.map(({ name }) => name).sort();
  }

  /** The roles giving at least one permission on the API, sorted. */
  rolesOn(identifier: string): string[] {
    return this.roles.filter(({ permissions }) => permissions.some((p) => p.resourceServer === identifier)).map(({ name }) => name).sort();
  }

  /** The API's scopes the holder may be granted: all of an `open` API's, else what its roles give. */
  scopesOn(server: Pick<ResourceServer, 'identifier' | 'access' | 'scopes'>): string[] {
    const all = server.scopes.map(({ scope }) => scope);
    if (server.access === 'open') return all;
    const held = new Set(this.roles.flatMap(({ permissions }) => permissions.filter((p) => p.resourceServer === server.identifier).map((p) => p.scope)));
    return all.filter((scope) => held.has(scope));
  }
}

/** Roles: named bundles of API scopes, granted to users and to clients. */
export class Roles {
  readonly #db: Database;
  readonly #cache: RecordCache | undefined;

  /** With `cache`, what each user and client holds is read through the shared cache. */
  constructor(db: Database, cache?: RecordCache) {
    this.#db = db;
    this.#cache = cache;
  }

  async create(input: NewRole): Promise<Role> {
    const name = input.name.normalize('NFKC').trim();
    if (!ROLE_NAME.test(name)) throw new InvalidRequest('a role name is 1-64 letters, digits or . _ : / - and starts with a letter or digit');
    const description = input.description?.trim() || null;
    const id = randomUUID();
    try {
      await this.#db.transaction(async (trx) => {
        await trx('roles').insert({ id, name, description });
        await Roles.#writePermissions(trx, id, input.permissions ?? []);
      });
    } catch (error) {
      if (isViolation(error, '23505')) throw new Conflict(`role ${name} already exists`, { cause: error });
      throw error;
    }
    return this.#role(await this.#roleRow(this.#db, name));
  }

  /**
   * Replaces the role's permissions. Everyone holding it gets the new ones at their next
   * authorization or refresh, on every instance at once.
   */
  async setPermissions(name: string, permissions: Permission[]): Promise<Role> {
    await this.#changingHolders(name, async (trx, row) => {
      await trx('role_permissions').where({ role_id: row.id }).delete();
      await Roles.#writePermissions(trx, row.id, permissions);
    });
    return this.#role(await this.#roleRow(this.#db, name));
  }

  /**
   * Changes the role's description and, when given, replaces its permissions. `expect`, given the
   * role as it is (locked), may refuse the change (a stale ETag). Holders feel it as with
   * `setPermissions`.
   */
  async update(name: string, changes: { description?: string | null | undefined; permissions?: Permission[] | undefined }, expect?: (current: Role) => void): Promise<Role> {
    await this.#changingHolders(name, async (trx, row) => {
      const permissions = await trx<PermissionRow>('role_permissions').where({ role_id: row.id }).orderBy(['resource_server', 'scope']);
      expect?.(Roles.#toRole(row, permissions));
      if (changes.description !== undefined) await trx('roles').where({ id: row.id }).update({ description: changes.description?.trim() || null });
      if (changes.permissions !== undefined) {
        await trx('role_permissions').where({ role_id: row.id }).delete();
        await Roles.#writePermissions(trx, row.id, changes.permissions);
      }
    });
    return this.#role(await this.#roleRow(this.#db, name));
  }

  /** The role by name (any case). */
  async get(name: string): Promise<Role> {
    return this.#role(await this.#roleRow(this.#db, name));
  }

  /** Deletes the role; its holders lose what it gave them at their next authorization or refresh. */
  async delete(name: string): Promise<void> {
    await this.#changingHolders(name, async (trx, row) => {
      await trx('roles').where({ id: row.id }).delete();
    });
  }

  async list(): Promise<RoleSummary[]> {
    const rows = await this.#db<RoleRow>('roles').orderByRaw('lower(name)');
    const ids = rows.map(({ id }) => id);
    const [permissions, users, clients] = await Promise.all([
      this.#permissionRows(ids),
      this.#db('account_roles').whereIn('role_id', ids).groupBy('role_id').select<Array<{ role_id: string; count: string | number }>>('role_id', this.#db.raw('count(*) as count')),
      this.#db('client_roles').whereIn('role_id', ids).groupBy('role_id').select<Array<{ role_id: string; count: string | number }>>('role_id', this.#db.raw('count(*) as count')),
    ]);
    const countOf = (counts: Array<{ role_id: string; count: string | number }>, id: string) => Number(counts.find((c) => c.role_id === id)?.count ?? 0);
    return rows.map((row) => ({ ...Roles.#toRole(row, permissions), users: countOf(users, row.id), clients: countOf(clients, row.id) }));
  }

  /** The role with the users and clients that hold it. */
  async show(name: string): Promise<RoleDetails> {
    const row = await this.#roleRow(this.#db, name);
    const [role, users, clients] = await Promise.all([
      this.#role(row),
      this.#db('account_roles as h').join('accounts as a', 'a.id', 'h.account_id').where('h.role_id', row.id).orderBy('a.username').select<Array<{ id: string; username: string }>>('a.id', 'a.username'),
      this.#db('client_roles as h').join('clients as c', 'c.client_id', 'h.client_id').where('h.role_id', row.id).orderBy('c.client_id').select<Array<{ clientId: string; name: string }>>('c.client_id as clientId', 'c.name'),
    ]);
    return { ...role, users, clients };
  }

  /** Gives the role to a user or a client; false when it already held it. */
  async grant(name: string, holder: RoleHolder): Promise<boolean> {
    const row = await this.#roleRow(this.#db, name);
    await this.#checkHolder(holder);
    const { table, column } = HOLDER_TABLES[holder.kind];
    const write = async () => {
      try {
        const inserted = await this.#db(table).insert({ [column]: holder.id, role_id: row.id }).onConflict([column, 'role_id']).ignore().returning('role_id');
        return inserted.length > 0;
      } catch (error) {
        // the holder or the role was deleted meanwhile
        if (isViolation(error, '23503')) throw new NotFound(`no ${holder.kind === 'account' ? 'account' : 'client'} ${holder.id} or role ${name}`, { cause: error });
        throw error;
      }
    };
    return this.#cache ? this.#cache.writing([heldRolesRecord(holder)], write) : write();
  }

  /** Takes the role from a user or a client; false when it did not hold it. */
  async revoke(name: string, holder: RoleHolder): Promise<boolean> {
    const row = await this.#roleRow(this.#db, name);
    await this.#checkHolder(holder);
    const { table, column } = HOLDER_TABLES[holder.kind];
    const write = async () => (await this.#db(table).where({ [column]: holder.id, role_id: row.id }).delete().returning('role_id')).length > 0;
    return this.#cache ? this.#cache.writing([heldRolesRecord(holder)], write) : write();
  }

  /** The roles a user holds and their permissions; read on every authorization and refresh. */
  permissionsFor(accountId: string): Promise<Entitlements> {
    return this.#entitlements({ kind: 'account', id: accountId });
  }

  /** The roles a client holds, for the tokens it gets for itself (client credentials). */
  clientPermissionsFor(clientId: string): Promise<Entitlements> {
    return this.#entitlements({ kind: 'client', id: clientId });
  }

  async #entitlements(holder: RoleHolder): Promise<Entitlements> {
    // no id holds a NUL character (PostgreSQL text cannot)
    if (holder.id.includes('\0')) return new Entitlements([]);
    const load = () => this.#heldRoles(holder);
    const record = heldRolesRecord(holder);
    const held = this.#cache ? await this.#cache.heldRoles<HeldRole[]>().get(record.id, load) : await load();
    return new Entitlements(held ?? []);
  }

  async #heldRoles(holder: RoleHolder): Promise<HeldRole[]> {
    const { table, column } = HOLDER_TABLES[holder.kind];
    const rows = await this.#db(`${table} as h`)
      .join('roles as r', 'r.id', 'h.role_id')
      .leftJoin('role_permissions as p', 'p.role_id', 'r.id')
      .where(`h.${column}`, holder.id)
      .orderBy(['r.name', 'p.resource_server', 'p.scope'])
      .select<Array<{ name: string; resource_server: string | null; scope: string | null }>>('r.name', 'p.resource_server', 'p.scope');
    const roles = new Map<string, HeldRole>();
    for (const row of rows) {
      const role = roles.get(row.name) ?? { name: row.name, permissions: [] };
      roles.set(row.name, role);
      if (row.resource_server !== null && row.scope !== null) role.permissions.push({ resourceServer: row.resource_server, scope: row.scope });
    }
    return [...roles.values()];
  }

  /**
   * Runs a change to the role `name` that reaches everyone holding it. The role is locked first,
   * so nobody is granted it meanwhile; its holders' cache entries are marked before the write
   * (a cache that cannot be reached stops it) and again after it commits.
   */
  async #changingHolders(name: string, change: (trx: Knex.Transaction, row: RoleRow) => Promise<void>): Promise<void> {
    const holders = await this.#db.transaction(async (trx) => {
      const row = await this.#roleRow(trx, name, { lock: true });
      const affected = await holdersOf(trx, [row.id]);
      await this.#cache?.invalidate(affected);
      await change(trx, row);
      return affected;
    });
    await this.#cache?.invalidate(holders);
  }

  async #checkHolder(holder: RoleHolder): Promise<void> {
    if (holder.id.includes('\0')) throw new NotFound(`no ${holder.kind} ${holder.id}`);
    if (holder.kind === 'account') {
      if (!(await this.#db('accounts').where({ id: holder.id }).first('id'))) throw new NotFound(`no account ${holder.id}`);
      return;
    }
    const client = await this.#db('clients').where({ client_id: holder.id }).first<{ metadata: { grant_types?: string[] } } | undefined>('metadata');
    if (!client) throw new NotFound(`no client ${holder.id}`);
    // a client's roles apply only to the tokens it gets for itself
    if (!client.metadata.grant_types?.includes('client_credentials')) {
      throw new InvalidRequest(`client ${holder.id} does not use client_credentials: a client's roles apply only to the tokens it gets for itself`);
    }
  }

  async #roleRow(db: Knex | Knex.Transaction, name: string, options: { lock?: boolean } = {}): Promise<RoleRow> {
    const normalised = name.normalize('NFKC').trim();
    const query = normalised.includes('\0') ? undefined : db<RoleRow>('roles').whereRaw('lower(name) = lower(?)', [normalised]);
    const row = await (options.lock ? query?.forUpdate() : query)?.first();
    if (!row) throw new NotFound(`no role ${name}`);
    return row;
  }

  #permissionRows(roleIds: readonly string[]): Promise<PermissionRow[]> {
    if (roleIds.length === 0) return Promise.resolve([]);
    return this.#db<PermissionRow>('role_permissions').whereIn('role_id', roleIds).orderBy(['resource_server', 'scope']);
  }

  async #role(row: RoleRow): Promise<Role> {
    return Roles.#toRole(row, await this.#permissionRows([row.id]));
  }

  static #toRole(row: RoleRow, permissions: readonly PermissionRow[]): Role {
    return {
      name: row.name,
      description: row.description,
      permissions: permissions.filter((p) => p.role_id === row.id).map((p) => ({ resourceServer: p.resource_server, scope: p.scope })),
      createdAt: new Date(row.created_at),
    };
  }

  /** Each permission must name a registered API and one of its scopes. */
  static async #writePermissions(trx: Knex.Transaction, roleId: string, permissions: readonly Permission[]): Promise<void> {
    const unique = [...new Map(permissions.map((p) => [`${p.resourceServer} ${p.scope}`, p])).values()];
    if (unique.length === 0) return;
    const servers = [...new Set(unique.map((p) => p.resourceServer))].filter((identifier) => !identifier.includes('\0'));
    const known = await trx('resource_server_scopes').whereIn('resource_server', servers).select<Array<{ resource_server: string; scope: string }>>('resource_server', 'scope');
    for (const { resourceServer, scope } of unique) {
      if (!known.some((k) => k.resource_server === resourceServer)) throw new NotFound(`no resource server ${resourceServer}`);
      if (!known.some((k) => k.resource_server === resourceServer && k.scope === scope)) throw new InvalidRequest(`API ${resourceServer} has no scope "${scope}"`);
    }
    await trx('role_permissions').insert(unique.map((p) => ({ role_id: roleId, resource_server: p.resourceServer, scope: p.scope })));
  }
}
