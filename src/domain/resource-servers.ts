import type { Knex } from 'knex';
import { deletedRows, type Database } from '../store/db.ts';
import type { ProcessCaches } from '../store/process-caches.ts';
import type { RecordCache } from '../store/record-cache.ts';
import { Conflict, InvalidRequest, NotFound } from './errors.ts';
import { lockHoldersOfResourceServer } from './roles.ts';
import { TtlCache } from './ttl-cache.ts';

/**
 * Who may be granted an API's scopes: `open`, every user (and every client for itself), as before
 * roles existed; `roles`, only what the user's roles (or the client's own) allow.
 */
export type ApiAccess = 'open' | 'roles';
export const API_ACCESS: readonly ApiAccess[] = ['open', 'roles'];

export interface ResourceServer {
  identifier: string;
  name: string;
  isDefault: boolean;
  access: ApiAccess;
  /** seconds; undefined means the configured access token lifetime */
  accessTokenTtl: number | undefined;
  scopes: Array<{ scope: string; description: string | null }>;
  /** clients, besides a token's own, that may introspect this API's access tokens (RFC 7662 §4) */
  introspectors: string[];
}

export interface NewResourceServer {
  identifier: string;
  name: string;
  isDefault?: boolean | undefined;
  /** default `roles`: a new API grants nothing until roles give its scopes */
  access?: ApiAccess | undefined;
  accessTokenTtl?: number | undefined;
  scopes: Array<{ scope: string; description?: string | undefined }>;
  introspectors?: string[] | undefined;
}

interface ServerRow {
  identifier: string;
  name: string;
  is_default: boolean;
  access: ApiAccess;
  access_token_ttl: number | null;
}

interface IntrospectorRow {
  resource_server: string;
  client_id: string;
}

interface ScopeRow {
  resource_server: string;
  scope: string;
  description: string | null;
}

export interface ResourceServersOptions {
  /** ms this process keeps the registrations it read; default 0 (no cache) */
  cacheTtlMs?: number | undefined;
  /** keeps the cache coherent with every other process's changes */
  processCaches?: ProcessCaches | undefined;
  /** the shared cache holding what users and clients may do through roles on APIs */
  records?: RecordCache | undefined;
}

/** What may change on a registered API; its identifier stays. `scopes` replaces them all. */
export interface ResourceServerChanges {
  name?: string | undefined;
  access?: ApiAccess | undefined;
  /** null: the configured access token lifetime */
  accessTokenTtl?: number | null | undefined;
  scopes?: NewResourceServer['scopes'] | undefined;
  introspectors?: string[] | undefined;
}

const RESERVED_SCOPES = new Set(['openid', 'offline_access', 'profile', 'email', 'address', 'phone', 'roles']);

function validateScopes(scopes: NewResourceServer['scopes']): void {
  if (scopes.length === 0) throw new InvalidRequest('a resource server needs at least one scope');
  for (const { scope } of scopes) {
    if (RESERVED_SCOPES.has(scope)) throw new InvalidRequest(`"${scope}" is an OpenID Connect scope and cannot belong to an API`);
    if (!/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(scope)) throw new InvalidRequest(`"${scope}" is not a valid scope token`);
  }
}

/** The name the cache is announced under (ProcessCaches). */
const CACHE = 'resource-servers';

/** APIs that accept Postern's JWT access tokens (RFC 8707 resource indicators), and their scopes. */
export class ResourceServers {
  readonly #db: Database;

  readonly #cache: TtlCache<ResourceServer | undefined>;
  readonly #processCaches: ProcessCaches | undefined;
  readonly #records: RecordCache | undefined;

  constructor(db: Database, options: ResourceServersOptions = {}) {
    this.#db = db;
    this.#cache = new TtlCache(options.cacheTtlMs ?? 0, 1000);
    this.#processCaches = options.processCaches;
    this.#processCaches?.register(CACHE, this.#cache);
    this.#records = options.records;
  }

  /**
   * Runs a write of the registrations; every process drops all it cached of them (a change may
   * move the default, and there are few).
   */
  async #changing<T>(write: () => Promise<T>): Promise<T> {
    if (this.#processCaches) return this.#processCaches.changing(CACHE, 'all', write);
    const result = await write();
    this.#cache.clear();
    return result;
  }

  async create(input: NewResourceServer): Promise<ResourceServer> {
    let url: URL;
    try {
      url = new URL(input.identifier);
    } catch {
      throw new InvalidRequest('a resource server identifier must be an absolute URI (RFC 8707)');
    }
    if (url.hash) throw new InvalidRequest('a resource server identifier must not contain a fragment (RFC 8707)');
    if (input.scopes.length === 0) throw new InvalidRequest('a resource server needs at least one scope');
    const access = input.access ?? 'roles';
    if (!API_ACCESS.includes(access)) throw new InvalidRequest(`access must be ${API_ACCESS.join(' or ')}`);
    validateScopes(input.scopes);
    try {
      await this.#changing(() =>
        this.#db.transaction(async (trx) => {
          if (input.isDefault) await trx('resource_servers').where({ is_default: true }).update({ is_default: false });
          await trx('resource_servers').insert({
            identifier: input.identifier,
            name: input.name,
            is_default: input.isDefault ?? false,
            access,
            access_token_ttl: input.accessTokenTtl ?? null,
          });
          await trx('resource_server_scopes').insert(
            input.scopes.map(({ scope, description }) => ({ resource_server: input.identifier, scope, description: description ?? null })),
          );
          await ResourceServers.#writeIntrospectors(trx, input.identifier, input.introspectors ?? []);
        }),
      );
    } catch (error) {
      if ((error as { code?: unknown }).code === '23505') throw new Conflict(`resource server ${input.identifier} already exists`, { cause: error });
      throw error;
    }
    return (await this.find(input.identifier))!;
  }

  /**
   * Names the clients that may introspect the API's access tokens, replacing the previous ones
   * (none: only each token's own client may). Each must be a registered confidential client.
   */
  async setIntrospectors(identifier: string, clientIds: string[]): Promise<ResourceServer> {
    await this.#changing(() =>
      this.#db.transaction(async (trx) => {
        const found = await trx('resource_servers').where({ identifier }).forUpdate().first('identifier');
        if (!found) throw new NotFound(`no resource server ${identifier}`);
        await trx('resource_server_introspectors').where({ resource_server: identifier }).delete();
        await ResourceServers.#writeIntrospectors(trx, identifier, clientIds);
      }),
    );
    return (await this.find(identifier))!;
  }

  /**
   * Opens the API to every user (`open`) or limits it to what roles allow (`roles`); every
   * process sees the change at once.
   */
  async setAccess(identifier: string, access: ApiAccess): Promise<ResourceServer> {
    if (!API_ACCESS.includes(access)) throw new InvalidRequest(`access must be ${API_ACCESS.join(' or ')}`);
    if (identifier.includes('\0')) throw new NotFound(`no resource server ${identifier}`);
    const updated = await this.#changing(() => this.#db('resource_servers').where({ identifier }).update({ access }).returning('identifier'));
    if (updated.length === 0) throw new NotFound(`no resource server ${identifier}`);
    return (await this.find(identifier))!;
  }

  /**
   * Changes an API's registration. `expect`, given the registration as it is (locked), may refuse
   * the change (a stale ETag). Replacing the scopes removes the permissions roles gave on scopes
   * that go; every process and every holder's cached roles see the change at once.
   */
  async update(identifier: string, changes: ResourceServerChanges, expect?: (current: ResourceServer) => void): Promise<ResourceServer> {
    if (identifier.includes('\0')) throw new NotFound(`no resource server ${identifier}`);
    if (changes.access !== undefined && !API_ACCESS.includes(changes.access)) throw new InvalidRequest(`access must be ${API_ACCESS.join(' or ')}`);
    if (changes.name !== undefined && changes.name.trim() === '') throw new InvalidRequest('an API needs a name');
    if (changes.scopes !== undefined) validateScopes(changes.scopes);
    const holders = await this.#changing(() =>
      this.#db.transaction(async (trx) => {
        const found = await trx<ServerRow>('resource_servers').where({ identifier }).forUpdate().first();
        if (!found) throw new NotFound(`no resource server ${identifier}`);
        expect?.((await this.#withScopes([found], trx))[0]!);
        const row: Partial<ServerRow> = {};
        if (changes.name !== undefined) row.name = changes.name.trim();
        if (changes.access !== undefined) row.access = changes.access;
        if (changes.accessTokenTtl !== undefined) row.access_token_ttl = changes.accessTokenTtl;
        if (Object.keys(row).length > 0) await trx('resource_servers').where({ identifier }).update(row);
        let affected: Awaited<ReturnType<typeof lockHoldersOfResourceServer>> = [];
        if (changes.scopes !== undefined) {
          affected = await lockHoldersOfResourceServer(trx, identifier);
          await this.#records?.invalidate(affected);
          const wanted = changes.scopes.map(({ scope }) => scope);
          await trx('resource_server_scopes').where({ resource_server: identifier }).whereNotIn('scope', wanted).delete();
          await trx('resource_server_scopes')
            .insert(changes.scopes.map(({ scope, description }) => ({ resource_server: identifier, scope, description: description ?? null })))
            .onConflict(['resource_server', 'scope'])
            .merge(['description']);
        }
        if (changes.introspectors !== undefined) {
          await trx('resource_server_introspectors').where({ resource_server: identifier }).delete();
          await ResourceServers.#writeIntrospectors(trx, identifier, changes.introspectors);
        }
        return affected;
      }),
    );
    await this.#records?.invalidate(holders);
    return this.get(identifier);
  }

  /** Read from the database, not the cache: what an administrator sees is what is stored. */
  async get(identifier: string): Promise<ResourceServer> {
    const rows = identifier.includes('\0') ? [] : await this.#db<ServerRow>('resource_servers').where({ identifier });
    const found = (await this.#withScopes(rows))[0];
    if (!found) throw new NotFound(`no resource server ${identifier}`);
    return found;
  }

  static async #writeIntrospectors(trx: Knex.Transaction, identifier: string, clientIds: string[]): Promise<void> {
    const wanted = [...new Set(clientIds)];
    if (wanted.length === 0) return;
    const clients = await trx('clients').whereIn('client_id', wanted).select<Array<{ client_id: string; client_secret_sealed: string | null }>>('client_id', 'client_secret_sealed');
    for (const clientId of wanted) {
      const client = clients.find((candidate) => candidate.client_id === clientId);
      if (!client) throw new NotFound(`no client ${clientId}`);
      // introspection needs client authentication, which a public client cannot give
      if (client.client_secret_sealed === null) throw new InvalidRequest(`client ${clientId} is public and cannot introspect tokens`);
    }
    await trx('resource_server_introspectors').insert(wanted.map((clientId) => ({ resource_server: identifier, client_id: clientId })));
  }

  async #withScopes(rows: ServerRow[], db: Knex | Knex.Transaction = this.#db): Promise<ResourceServer[]> {
    if (rows.length === 0) return [];
    const identifiers = rows.map((row) => row.identifier);
    const scopes = await db<ScopeRow>('resource_server_scopes').whereIn('resource_server', identifiers).orderBy('scope');
    const introspectors = await db<IntrospectorRow>('resource_server_introspectors').whereIn('resource_server', identifiers).orderBy('client_id');
    return rows.map((row) => ({
      identifier: row.identifier,
      name: row.name,
      isDefault: row.is_default,
      access: row.access,
      accessTokenTtl: row.access_token_ttl ?? undefined,
      scopes: scopes.filter((s) => s.resource_server === row.identifier).map(({ scope, description }) => ({ scope, description })),
      introspectors: introspectors.filter((i) => i.resource_server === row.identifier).map(({ client_id }) => client_id),
    }));
  }

  /** Read through the cache: the token endpoint asks for these on every request. */
  find(identifier: string): Promise<ResourceServer | undefined> {
    // an identifier is a URI: one with a NUL character is none of ours (and could not be looked up)
    if (identifier.includes('\0')) return Promise.resolve(undefined);
    return this.#cache.get(`id:${identifier}`, async () => {
      const rows = await this.#db<ServerRow>('resource_servers').where({ identifier });
      return (await this.#withScopes(rows))[0];
    });
  }

  findDefault(): Promise<ResourceServer | undefined> {
    return this.#cache.get('default', async () => {
      const rows = await this.#db<ServerRow>('resource_servers').where({ is_default: true });
      return (await this.#withScopes(rows))[0];
    });
  }

  async list(): Promise<ResourceServer[]> {
    return this.#withScopes(await this.#db<ServerRow>('resource_servers').orderBy('created_at'));
  }

  /** Deletes the API with its scopes, and the permissions on it that roles gave. */
  async delete(identifier: string): Promise<void> {
    const { deleted, holders } = await this.#changing(() =>
      this.#db.transaction(async (trx) => {
        const affected = await lockHoldersOfResourceServer(trx, identifier);
        // an API registered again under this identifier must not find the old permissions cached
        await this.#records?.invalidate(affected);
        return { deleted: deletedRows(await trx('resource_servers').where({ identifier }).delete()), holders: affected };
      }),
    );
    await this.#records?.invalidate(holders);
    if (deleted === 0) throw new NotFound(`no resource server ${identifier}`);
  }
}
