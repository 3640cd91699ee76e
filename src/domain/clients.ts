import { randomBytes } from 'node:crypto';
import type { ProcessCaches } from '../store/process-caches.ts';
import type { RecordCache, RemovedRecord } from '../store/record-cache.ts';
import { deletedRows, type Database } from '../store/db.ts';
import type { SecretEnvelope } from '../store/envelope.ts';
import { CLIENT_SECRET_SEALED } from '../store/sealed-columns.ts';
import { Conflict, InvalidClientMetadata, NotFound } from './errors.ts';
import { heldRolesRecord } from './roles.ts';
import { TtlCache } from './ttl-cache.ts';

export type ClientType = 'confidential' | 'public';
export type GrantType = 'authorization_code' | 'refresh_token' | 'client_credentials';
export const GRANT_TYPES: readonly GrantType[] = ['authorization_code', 'refresh_token', 'client_credentials'];

export interface ClientSummary {
  clientId: string;
  name: string;
  type: ClientType;
  firstParty: boolean;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  grantTypes: GrantType[];
  scopes: string[];
  /** where the application hears that a session it had ended (Back-Channel Logout); null: it does not */
  backchannelLogoutUri: string | null;
  backchannelLogoutSessionRequired: boolean;
  createdAt: Date;
}

export interface NewClient {
  name: string;
  type: ClientType;
  clientId?: string | undefined;
  redirectUris?: string[] | undefined;
  postLogoutRedirectUris?: string[] | undefined;
  grantTypes?: GrantType[] | undefined;
  /** scopes the client may ask for; empty means every registered scope */
  scopes?: string[] | undefined;
  firstParty?: boolean | undefined;
  backchannelLogoutUri?: string | undefined;
  /** the application needs `sid` in logout tokens (Postern always sends it) */
  backchannelLogoutSessionRequired?: boolean | undefined;
}

/** Back-Channel Logout registration: `uri` null removes it. */
export interface BackchannelLogoutSettings {
  uri: string | null;
  sessionRequired?: boolean | undefined;
}

/** What the protocol engine reads: RFC 7591 client metadata plus Postern's `first_party`. */
export interface ClientMetadata {
  client_id: string;
  client_name: string;
  client_secret?: string;
  token_endpoint_auth_method: 'client_secret_basic' | 'client_secret_post' | 'none';
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  grant_types: GrantType[];
  response_types: string[];
  scope?: string;
  first_party: boolean;
  backchannel_logout_uri?: string;
  backchannel_logout_session_required?: boolean;
}

interface ClientRow {
  client_id: string;
  name: string;
  client_secret_sealed: string | null;
  first_party: boolean;
  metadata: Omit<ClientMetadata, 'client_id' | 'client_secret' | 'client_name' | 'first_party'>;
  created_at: Date | string;
}

const CLIENT_ID = /^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$/;
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

function validateRedirectUri(uri: string, field: string): string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new InvalidClientMetadata(`${field}: "${uri}" is not an absolute URL`);
  }
  if (url.hash) throw new InvalidClientMetadata(`${field}: "${uri}" must not contain a fragment`);
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) {
    throw new InvalidClientMetadata(`${field}: "${uri}" must use https (http is allowed for localhost only)`);
  }
  if (['javascript:', 'data:', 'file:', 'vbscript:'].includes(url.protocol)) {
    throw new InvalidClientMetadata(`${field}: "${uri}" uses a forbidden scheme`);
  }
  return uri;
}

function backchannelMetadata(settings: BackchannelLogoutSettings): Pick<ClientMetadata, 'backchannel_logout_uri' | 'backchannel_logout_session_required'> {
  if (settings.uri === null) {
    if (settings.sessionRequired) throw new InvalidClientMetadata('backchannel_logout_session_required needs a backchannel_logout_uri');
    return {};
  }
  return {
    backchannel_logout_uri: validateRedirectUri(settings.uri, 'backchannel_logout_uri'),
    ...(settings.sessionRequired ? { backchannel_logout_session_required: true } : {}),
  };
}

function toSummary(row: ClientRow): ClientSummary {
  return {
    clientId: row.client_id,
    name: row.name,
    type: row.client_secret_sealed ? 'confidential' : 'public',
    firstParty: row.first_party,
    redirectUris: row.metadata.redirect_uris,
    postLogoutRedirectUris: row.metadata.post_logout_redirect_uris,
    grantTypes: row.metadata.grant_types,
    scopes: row.metadata.scope ? row.metadata.scope.split(' ') : [],
    backchannelLogoutUri: row.metadata.backchannel_logout_uri ?? null,
    backchannelLogoutSessionRequired: row.metadata.backchannel_logout_session_required ?? false,
    createdAt: new Date(row.created_at),
  };
}

export interface ClientsOptions {
  /** ms this process keeps the metadata it read; default 0 (no cache) */
  cacheTtlMs?: number | undefined;
  /** the shared cache of grants, marked when a deletion removes them */
  records?: RecordCache | undefined;
  /** keeps the metadata cache coherent with every other process's changes */
  processCaches?: ProcessCaches | undefined;
}

/** The name the metadata cache is announced under (ProcessCaches). */
const METADATA_CACHE = 'clients';

export class Clients {
  readonly #db: Database;
  readonly #envelope: SecretEnvelope;

  readonly #metadataCache: TtlCache<ClientMetadata | undefined>;
  readonly #records: RecordCache | undefined;
  readonly #processCaches: ProcessCaches | undefined;

  constructor(db: Database, envelope: SecretEnvelope, options: ClientsOptions = {}) {
    this.#db = db;
    this.#envelope = envelope;
    this.#metadataCache = new TtlCache(options.cacheTtlMs ?? 0);
    this.#records = options.records;
    this.#processCaches = options.processCaches;
    this.#processCaches?.register(METADATA_CACHE, this.#metadataCache);
  }

  /** Runs a write of these clients; every process's cached metadata of them is dropped. */
  async #changing<T>(clientIds: string[], write: () => Promise<T>): Promise<T> {
    if (this.#processCaches) return this.#processCaches.changing(METADATA_CACHE, clientIds, write);
    const result = await write();
    for (const clientId of clientIds) this.#metadataCache.delete(clientId);
    return result;
  }

  /** Registers a client. The secret of a confidential client is returned here once and stored sealed. */
  async create(input: NewClient): Promise<{ client: ClientSummary; clientSecret: string | undefined }> {
    const name = input.name.trim();
    if (!name) throw new InvalidClientMetadata('a client needs a name');
    const grantTypes = [...new Set(input.grantTypes?.length ? input.grantTypes : (['authorization_code', 'refresh_token'] as GrantType[]))];
    for (const grant of grantTypes) {
      if (!GRANT_TYPES.includes(grant)) throw new InvalidClientMetadata(`unsupported grant type "${grant}" (allowed: ${GRANT_TYPES.join(', ')})`);
    }
    if (input.type === 'public' && grantTypes.includes('client_credentials')) {
      throw new InvalidClientMetadata('a public client cannot use client_credentials: it has no secret');
    }
    const usesCode = grantTypes.includes('authorization_code');
    if (grantTypes.includes('refresh_token') && !usesCode) {
      throw new InvalidClientMetadata('refresh_token needs authorization_code as well');
    }
    const redirectUris = (input.redirectUris ?? []).map((uri) => validateRedirectUri(uri, 'redirect_uris'));
    if (usesCode && redirectUris.length === 0) throw new InvalidClientMetadata('authorization_code needs at least one redirect URI');
    const postLogoutRedirectUris = (input.postLogoutRedirectUris ?? []).map((uri) => validateRedirectUri(uri, 'post_logout_redirect_uris'));
    const scopes = [...new Set(input.scopes ?? [])];
    const backchannel = backchannelMetadata({ uri: input.backchannelLogoutUri ?? null, sessionRequired: input.backchannelLogoutSessionRequired });
    for (const scope of scopes) {
      if (!/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(scope)) throw new InvalidClientMetadata(`"${scope}" is not a valid scope token`);
    }

    if (input.clientId !== undefined && !CLIENT_ID.test(input.clientId)) {
      throw new InvalidClientMetadata('a client_id is 1-128 letters, digits, . _ ~ - and starts with a letter or digit');
    }
    // hex: an id never starts with '-', which a command line would read as an option
    const clientId = input.clientId ?? randomBytes(16).toString('hex');
    const clientSecret = input.type === 'confidential' ? randomBytes(32).toString('base64url') : undefined;
    const metadata: ClientRow['metadata'] = {
      token_endpoint_auth_method: clientSecret ? 'client_secret_basic' : 'none',
      redirect_uris: redirectUris,
      post_logout_redirect_uris: postLogoutRedirectUris,
      grant_types: grantTypes,
      response_types: usesCode ? ['code'] : [],
      ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}),
      ...backchannel,
    };
    try {
      // announced too: a process may have cached that the id is unknown
      const [row] = await this.#changing([clientId], () =>
        this.#db('clients')
          .insert({
            client_id: clientId,
            name,
            client_secret_sealed: clientSecret ? this.#envelope.seal(clientSecret, CLIENT_SECRET_SEALED, clientId) : null,
            first_party: input.firstParty ?? false,
            metadata: JSON.stringify(metadata),
          })
          .returning('*'),
      );
      return { client: toSummary(row as ClientRow), clientSecret };
    } catch (error) {
      if ((error as { code?: unknown }).code === '23505') throw new Conflict(`client ${clientId} already exists`, { cause: error });
      throw error;
    }
  }

  async list(): Promise<ClientSummary[]> {
    const rows = await this.#db<ClientRow>('clients').orderBy('created_at');
    return rows.map(toSummary);
  }

  async get(clientId: string): Promise<ClientSummary> {
    const row = await this.#db<ClientRow>('clients').where({ client_id: clientId }).first();
    if (!row) throw new NotFound(`no client ${clientId}`);
    return toSummary(row);
  }

  async delete(clientId: string): Promise<void> {
    const remove = () =>
      this.#db.transaction(async (trx) => {
        const deleted = deletedRows(await trx('clients').where({ client_id: clientId }).delete());
        if (deleted === 0) throw new NotFound(`no client ${clientId}`);
        return trx('oidc_payloads')
          .whereIn('model', ['Grant', 'RefreshToken'])
          .whereRaw("payload->>'clientId' = ?", [clientId])
          .delete()
          .returning<RemovedRecord[]>(['model', 'id', 'uid']);
      });
    // a client registered again under this id must not find the old one's roles cached
    const removeMarked = () => (this.#records ? this.#records.writing([heldRolesRecord({ kind: 'client', id: clientId })], remove) : remove());
    const removed = await this.#changing([clientId], removeMarked);
    await this.#records?.forget(removed);
  }

  /**
   * Registers, changes or (with `uri: null`) removes where the application is told that a session
   * it had ended. Sessions that end from then on are told there; notices already queued keep theirs.
   */
  async setBackchannelLogout(clientId: string, settings: BackchannelLogoutSettings): Promise<ClientSummary> {
    const backchannel = backchannelMetadata(settings);
    const [row] = await this.#changing([clientId], () =>
      this.#db('clients')
        .where({ client_id: clientId })
        .update({
          metadata: this.#db.raw("(metadata - 'backchannel_logout_uri' - 'backchannel_logout_session_required') || ?::jsonb", [JSON.stringify(backchannel)]),
          updated_at: this.#db.fn.now(),
        })
        .returning('*'),
    );
    if (!row) throw new NotFound(`no client ${clientId}`);
    return toSummary(row as ClientRow);
  }

  /** Metadata for the protocol engine, secret opened; read through the cache. */
  metadataFor(clientId: string): Promise<ClientMetadata | undefined> {
    return this.#metadataCache.get(clientId, () => this.#loadMetadata(clientId));
  }

  async #loadMetadata(clientId: string): Promise<ClientMetadata | undefined> {
    const row = await this.#db<ClientRow>('clients').where({ client_id: clientId }).first();
    if (!row) return undefined;
    return {
      ...row.metadata,
      client_id: row.client_id,
      client_name: row.name,
      first_party: row.first_party,
      ...(row.client_secret_sealed ? { client_secret: this.#envelope.open(row.client_secret_sealed, CLIENT_SECRET_SEALED, row.client_id) } : {}),
    };
  }
}
