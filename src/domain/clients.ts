import { randomBytes } from 'node:crypto';
import type { ProcessCaches } from '../store/process-caches.ts';
import type { RecordCache, RemovedRecord } from '../store/record-cache.ts';
import { deletedRows, type Database } from '../store/db.ts';
import type { SecretEnvelope } from '../store/envelope.ts';
import { CLIENT_SECRET_SEALED } from '../store/sealed-columns.ts';
import { checkedLink, checkedLogo, CLIENT_LINK_FIELDS, type ClientLinks, type ClientLogo } from './client-presentation.ts';
import { Conflict, InvalidClientMetadata, NotFound } from './errors.ts';
import { heldRolesRecord } from './roles.ts';
import { TtlCache } from './ttl-cache.ts';

export type ClientType = 'confidential' | 'public';
export const DEVICE_CODE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';
export type GrantType = 'authorization_code' | 'refresh_token' | 'client_credentials' | typeof DEVICE_CODE_GRANT_TYPE;
export const GRANT_TYPES: readonly GrantType[] = ['authorization_code', 'refresh_token', 'client_credentials', DEVICE_CODE_GRANT_TYPE];
/** How a confidential client authenticates at the token endpoint (a public one: `none`). */
export type SecretAuthMethod = 'client_secret_basic' | 'client_secret_post';
export const SECRET_AUTH_METHODS: readonly SecretAuthMethod[] = ['client_secret_basic', 'client_secret_post'];
/**
 * `required`: every authorization request carries PKCE (S256). `nonce_instead`: a confidential
 * client may leave PKCE out of a request that carries an OpenID Connect `nonce` (its own
 * protection against code injection, OpenID Connect Core §15.5.2); never for a public client.
 */
export type PkcePolicy = 'required' | 'nonce_instead';
export const PKCE_POLICIES: readonly PkcePolicy[] = ['required', 'nonce_instead'];

export interface ClientSummary {
  clientId: string;
  name: string;
  type: ClientType;
  firstParty: boolean;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  grantTypes: GrantType[];
  scopes: string[];
  /** how it authenticates at the token endpoint; `none` for a public client */
  tokenEndpointAuthMethod: SecretAuthMethod | 'none';
  pkcePolicy: PkcePolicy;
  /** where its request objects' signatures are checked: a JWKS URL, or public keys registered with it */
  jwksUri: string | undefined;
  registeredKeys: number;
  /** authorization requests must come as a signed request object (RFC 9101) */
  requireSignedRequestObject: boolean;
  /** where the application hears that a session it had ended (Back-Channel Logout); null: it does not */
  backchannelLogoutUri: string | null;
  backchannelLogoutSessionRequired: boolean;
  /** what the sign-in and consent pages link to */
  links: ClientLinks;
  /** the logo Postern stores and serves for it; null: none */
  logo: ClientLogo | null;
  /** registered by the application itself at the registration endpoint (RFC 7591) */
  dynamic: boolean;
  /** when it first got a token; null: never (a dynamic registration never used is swept) */
  firstUsedAt: Date | null;
  /** its access tokens are bound to a key it proves at every use (DPoP, RFC 9449); a request without a proof is refused */
  dpopBoundAccessTokens: boolean;
  /** its authorization requests must be pushed first (PAR, RFC 9126) */
  requirePushedAuthorizationRequests: boolean;
  /** the APIs it may exchange a user's access token for (RFC 8693); empty: it may not exchange */
  tokenExchangeAudiences: string[];
  createdAt: Date;
}

/** A client's public keys, for the request objects it signs (RFC 7517 key set). */
export interface PublicKeySet {
  keys: Array<Record<string, unknown>>;
}

export interface RequestObjectSettings {
  jwks?: PublicKeySet | null | undefined;
  jwksUri?: string | null | undefined;
  requireSignedRequestObject?: boolean | undefined;
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
  /** confidential clients only; default client_secret_basic */
  tokenEndpointAuthMethod?: SecretAuthMethod | undefined;
  pkcePolicy?: PkcePolicy | undefined;
  requestObjects?: RequestObjectSettings | undefined;
  backchannelLogoutUri?: string | undefined;
  /** the application needs `sid` in logout tokens (Postern always sends it) */
  backchannelLogoutSessionRequired?: boolean | undefined;
  clientUri?: string | undefined;
  policyUri?: string | undefined;
  tosUri?: string | undefined;
  dpopBoundAccessTokens?: boolean | undefined;
  requirePushedAuthorizationRequests?: boolean | undefined;
  /** confidential clients only */
  tokenExchangeAudiences?: string[] | undefined;
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
  /** absent: required */
  pkce_policy?: PkcePolicy;
  jwks?: PublicKeySet;
  jwks_uri?: string;
  require_signed_request_object?: boolean;
  backchannel_logout_uri?: string;
  backchannel_logout_session_required?: boolean;
  client_uri?: string;
  policy_uri?: string;
  tos_uri?: string;
  /** the logo Postern serves, for the engine to build `logo_uri` from; never another origin's */
  logo?: ClientLogo;
  /** dynamically registered clients only: `native` allows any loopback port (RFC 8252 §7.3) */
  application_type?: 'web' | 'native';
  /** RFC 9449 §5.2; absent: false */
  dpop_bound_access_tokens?: boolean;
  /** RFC 9126 §6; absent: false */
  require_pushed_authorization_requests?: boolean;
  /** Postern's own: the APIs it may exchange tokens for (see src/oidc/grants/token-exchange.ts) */
  token_exchange_audiences?: string[];
}

/** What a dynamic registration (RFC 7591) adds to a NewClient: the engine made the secret. */
export interface DynamicRegistration {
  clientId: string;
  clientSecret: string | undefined;
  applicationType: 'web' | 'native';
}

interface ClientRow {
  client_id: string;
  name: string;
  client_secret_sealed: string | null;
  first_party: boolean;
  metadata: Omit<ClientMetadata, 'client_id' | 'client_secret' | 'client_name' | 'first_party' | 'logo'>;
  logo_sha256: string | null;
  logo_type: ClientLogo['type'] | null;
  dynamic: boolean;
  first_used_at: Date | string | null;
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

function checkPkcePolicy(policy: PkcePolicy, authMethod: ClientMetadata['token_endpoint_auth_method']): PkcePolicy {
  if (!PKCE_POLICIES.includes(policy)) throw new InvalidClientMetadata(`unknown PKCE policy "${policy}" (allowed: ${PKCE_POLICIES.join(', ')})`);
  if (policy !== 'required' && authMethod === 'none') {
    throw new InvalidClientMetadata('a public client always uses PKCE: it cannot prove at the token endpoint that it asked for the code');
  }
  return policy;
}

const PRIVATE_KEY_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const REQUEST_OBJECT_KEY_TYPES = new Set(['RSA', 'EC']);

function checkPublicKeys(jwks: PublicKeySet): PublicKeySet {
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray(jwks.keys)) throw new InvalidClientMetadata('jwks must be a JSON Web Key Set: {"keys": [...]}');
  if (jwks.keys.length === 0 || jwks.keys.length > 10) throw new InvalidClientMetadata('jwks must hold 1 to 10 keys');
  for (const key of jwks.keys) {
    if (typeof key !== 'object' || key === null || !REQUEST_OBJECT_KEY_TYPES.has(key.kty as string)) throw new InvalidClientMetadata('jwks keys must be RSA or EC public keys');
    if (PRIVATE_KEY_MEMBERS.some((member) => member in key)) throw new InvalidClientMetadata('jwks must hold public keys only: a private key was given');
  }
  return { keys: jwks.keys };
}

/**
 * The request-object part of a registration: at most one of jwks and jwks_uri, and a signed
 * request object can only be required of a client that has keys to sign it with.
 */
function requestObjectMetadata(settings: RequestObjectSettings, current: Pick<ClientMetadata, 'jwks' | 'jwks_uri' | 'require_signed_request_object'> = {}) {
  const next = { ...current };
  if (settings.jwks !== undefined) {
    if (settings.jwks === null) delete next.jwks;
    else next.jwks = checkPublicKeys(settings.jwks);
  }
  if (settings.jwksUri !== undefined) {
    if (settings.jwksUri === null) delete next.jwks_uri;
    else next.jwks_uri = validateRedirectUri(settings.jwksUri, 'jwks_uri');
  }
  if (next.jwks && next.jwks_uri) throw new InvalidClientMetadata('give either jwks or jwks_uri, not both');
  if (settings.requireSignedRequestObject !== undefined) {
    if (settings.requireSignedRequestObject) next.require_signed_request_object = true;
    else delete next.require_signed_request_object;
  }
  if (next.require_signed_request_object && !next.jwks && !next.jwks_uri) {
    throw new InvalidClientMetadata('requiring signed request objects needs the client\'s public keys (jwks or jwks_uri)');
  }
  return next;
}

/** What a client may change after registration; its type and id stay. */
export type ClientChanges = Partial<Pick<NewClient, 'name' | 'redirectUris' | 'postLogoutRedirectUris' | 'grantTypes' | 'scopes' | 'firstParty' | 'pkcePolicy' | 'backchannelLogoutSessionRequired' | 'dpopBoundAccessTokens' | 'requirePushedAuthorizationRequests' | 'tokenExchangeAudiences'>> & {
  /** null removes it */
  backchannelLogoutUri?: string | null | undefined;
  /** dynamically registered clients only */
  applicationType?: 'web' | 'native' | undefined;
} & { [K in keyof ClientLinks]?: string | null | undefined };

/** The metadata with the links changed (null removes one), or as it was. */
function withLinks(metadata: ClientRow['metadata'], changes: { [K in keyof ClientLinks]?: string | null | undefined }): ClientRow['metadata'] {
  const next: ClientRow['metadata'] = { ...metadata };
  for (const [field, key] of Object.entries(CLIENT_LINK_FIELDS) as Array<[keyof ClientLinks, (typeof CLIENT_LINK_FIELDS)[keyof ClientLinks]]>) {
    const value = checkedLink(changes[field], key);
    if (value === null) delete next[key];
    else if (value !== undefined) next[key] = value;
  }
  return next;
}

/** The metadata with the Back-Channel Logout registration changed, or as it was. */
function withBackchannel(metadata: ClientRow['metadata'], changes: ClientChanges): ClientRow['metadata'] {
  if (changes.backchannelLogoutUri === undefined && changes.backchannelLogoutSessionRequired === undefined) return metadata;
  const { backchannel_logout_uri: current, backchannel_logout_session_required: required, ...rest } = metadata;
  const uri = changes.backchannelLogoutUri !== undefined ? changes.backchannelLogoutUri : (current ?? null);
  // removing the URI drops the flag with it, unless it is asked for again (and refused)
  const sessionRequired = uri === null ? changes.backchannelLogoutSessionRequired : (changes.backchannelLogoutSessionRequired ?? required);
  return { ...rest, ...backchannelMetadata({ uri, sessionRequired }) };
}

/** The metadata with the DPoP and PAR requirements set where given (false drops the member), or as it was. */
function withRequirements(metadata: ClientRow['metadata'], changes: Pick<ClientChanges, 'dpopBoundAccessTokens' | 'requirePushedAuthorizationRequests' | 'tokenExchangeAudiences'>): ClientRow['metadata'] {
  const next = { ...metadata };
  if (changes.tokenExchangeAudiences !== undefined) {
    const audiences = checkExchangeAudiences(changes.tokenExchangeAudiences, metadata.token_endpoint_auth_method);
    if (audiences.length > 0) next.token_exchange_audiences = audiences;
    else delete next.token_exchange_audiences;
  }
  if (changes.dpopBoundAccessTokens !== undefined) {
    if (changes.dpopBoundAccessTokens) next.dpop_bound_access_tokens = true;
    else delete next.dpop_bound_access_tokens;
  }
  if (changes.requirePushedAuthorizationRequests !== undefined) {
    if (changes.requirePushedAuthorizationRequests) next.require_pushed_authorization_requests = true;
    else delete next.require_pushed_authorization_requests;
  }
  return next;
}

/** RFC 8693 §2.1 */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';

function checkExchangeAudiences(audiences: string[], authMethod: ClientMetadata['token_endpoint_auth_method']): string[] {
  const unique = [...new Set(audiences)];
  if (unique.length > 0 && authMethod === 'none') throw new InvalidClientMetadata('a public client cannot exchange tokens: it cannot authenticate');
  if (unique.length > 20) throw new InvalidClientMetadata('at most 20 token exchange audiences');
  for (const audience of unique) {
    if (!URL.canParse(audience) || new URL(audience).hash) throw new InvalidClientMetadata(`token exchange audience "${audience}" is not an absolute URI without a fragment`);
  }
  return unique;
}

interface ClientSettings {
  type: ClientType;
  grantTypes: GrantType[];
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  scopes: string[];
}

/** The registration rules a client's settings must follow, at creation and at every change. */
function validatedSettings(input: Omit<NewClient, 'name'>): ClientSettings {
  const grantTypes = [...new Set(input.grantTypes?.length ? input.grantTypes : (['authorization_code', 'refresh_token'] as GrantType[]))];
  for (const grant of grantTypes) {
    if (!GRANT_TYPES.includes(grant)) throw new InvalidClientMetadata(`unsupported grant type "${grant}" (allowed: ${GRANT_TYPES.join(', ')})`);
  }
  if (input.type === 'public' && grantTypes.includes('client_credentials')) {
    throw new InvalidClientMetadata('a public client cannot use client_credentials: it has no secret');
  }
  const usesCode = grantTypes.includes('authorization_code');
  // refresh tokens come from a user's grant: the code grant's or a device's
  if (grantTypes.includes('refresh_token') && !usesCode && !grantTypes.includes(DEVICE_CODE_GRANT_TYPE)) {
    throw new InvalidClientMetadata(`refresh_token needs authorization_code or ${DEVICE_CODE_GRANT_TYPE} as well`);
  }
  const redirectUris = (input.redirectUris ?? []).map((uri) => validateRedirectUri(uri, 'redirect_uris'));
  if (usesCode && redirectUris.length === 0) throw new InvalidClientMetadata('authorization_code needs at least one redirect URI');
  const postLogoutRedirectUris = (input.postLogoutRedirectUris ?? []).map((uri) => validateRedirectUri(uri, 'post_logout_redirect_uris'));
  const scopes = [...new Set(input.scopes ?? [])];
  for (const scope of scopes) {
    if (!/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(scope)) throw new InvalidClientMetadata(`"${scope}" is not a valid scope token`);
  }
  return { type: input.type, grantTypes, redirectUris, postLogoutRedirectUris, scopes };
}

function metadataOf(settings: ClientSettings, authMethod: ClientMetadata['token_endpoint_auth_method']): ClientRow['metadata'] {
  return {
    token_endpoint_auth_method: authMethod,
    redirect_uris: settings.redirectUris,
    post_logout_redirect_uris: settings.postLogoutRedirectUris,
    grant_types: settings.grantTypes,
    response_types: settings.grantTypes.includes('authorization_code') ? ['code'] : [],
    ...(settings.scopes.length > 0 ? { scope: settings.scopes.join(' ') } : {}),
  };
}

/** The metadata with the PKCE policy changed (checked against the client's authentication), or as it was. */
function withPkcePolicy(metadata: ClientRow['metadata'], policy: PkcePolicy | undefined): ClientRow['metadata'] {
  if (policy === undefined) return metadata;
  const { pkce_policy: _previous, ...rest } = metadata;
  return checkPkcePolicy(policy, metadata.token_endpoint_auth_method) === 'required' ? rest : { ...rest, pkce_policy: policy };
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
    tokenEndpointAuthMethod: row.metadata.token_endpoint_auth_method,
    pkcePolicy: row.metadata.pkce_policy ?? 'required',
    jwksUri: row.metadata.jwks_uri,
    registeredKeys: row.metadata.jwks?.keys.length ?? 0,
    requireSignedRequestObject: row.metadata.require_signed_request_object === true,
    backchannelLogoutUri: row.metadata.backchannel_logout_uri ?? null,
    backchannelLogoutSessionRequired: row.metadata.backchannel_logout_session_required ?? false,
    links: { clientUri: row.metadata.client_uri ?? null, policyUri: row.metadata.policy_uri ?? null, tosUri: row.metadata.tos_uri ?? null },
    logo: row.logo_sha256 && row.logo_type ? { sha256: row.logo_sha256, type: row.logo_type } : null,
    dynamic: row.dynamic === true,
    firstUsedAt: row.first_used_at ? new Date(row.first_used_at) : null,
    dpopBoundAccessTokens: row.metadata.dpop_bound_access_tokens === true,
    requirePushedAuthorizationRequests: row.metadata.require_pushed_authorization_requests === true,
    tokenExchangeAudiences: row.metadata.token_exchange_audiences ?? [],
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
  /** clients whose first use is written (or which are not dynamic) */
  readonly #settledUse = new Set<string>();

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
  async create(input: NewClient, registration?: DynamicRegistration): Promise<{ client: ClientSummary; clientSecret: string | undefined }> {
    const name = input.name.trim();
    if (!name) throw new InvalidClientMetadata('a client needs a name');
    const settings = validatedSettings(input);
    const backchannel = backchannelMetadata({ uri: input.backchannelLogoutUri ?? null, sessionRequired: input.backchannelLogoutSessionRequired });
    if (input.clientId !== undefined && !CLIENT_ID.test(input.clientId)) {
      throw new InvalidClientMetadata('a client_id is 1-128 letters, digits, . _ ~ - and starts with a letter or digit');
    }
    // hex: an id never starts with '-', which a command line would read as an option
    const clientId = registration?.clientId ?? input.clientId ?? randomBytes(16).toString('hex');
    const clientSecret = registration ? registration.clientSecret : input.type === 'confidential' ? randomBytes(32).toString('base64url') : undefined;
    if (registration && (clientSecret !== undefined) !== (input.type === 'confidential')) throw new TypeError('a dynamic registration has a secret exactly when it is confidential');
    if (input.tokenEndpointAuthMethod !== undefined && !clientSecret) {
      throw new InvalidClientMetadata('a public client has no secret to authenticate with');
    }
    if (input.tokenEndpointAuthMethod !== undefined && !SECRET_AUTH_METHODS.includes(input.tokenEndpointAuthMethod)) {
      throw new InvalidClientMetadata(`unknown token endpoint authentication method "${input.tokenEndpointAuthMethod}" (allowed: ${SECRET_AUTH_METHODS.join(', ')})`);
    }
    const authMethod = clientSecret ? (input.tokenEndpointAuthMethod ?? 'client_secret_basic') : 'none';
    const pkcePolicy = checkPkcePolicy(input.pkcePolicy ?? 'required', authMethod);
    const metadata: ClientRow['metadata'] = withRequirements({
      ...metadataOf(settings, authMethod),
      ...(pkcePolicy !== 'required' ? { pkce_policy: pkcePolicy } : {}),
      ...requestObjectMetadata(input.requestObjects ?? {}),
      ...backchannel,
      ...withLinks({} as ClientRow['metadata'], input),
      ...(registration ? { application_type: registration.applicationType } : {}),
    }, input);
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
            dynamic: registration !== undefined,
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

  /** Sets whether the client may leave PKCE out of requests that carry a nonce (see PkcePolicy). */
  setPkcePolicy(clientId: string, policy: PkcePolicy): Promise<ClientSummary> {
    return this.update(clientId, { pkcePolicy: policy });
  }

  /** Registers or removes the client's public keys and whether it must send signed request objects (RFC 9101). */
  async setRequestObjects(clientId: string, settings: RequestObjectSettings): Promise<ClientSummary> {
    // announced around the whole transaction, so no process caches what it read before the commit
    return this.#changing([clientId], () =>
      this.#db.transaction(async (trx) => {
        const row = await trx<ClientRow>('clients').where({ client_id: clientId }).forUpdate().first();
        if (!row) throw new NotFound(`no client ${clientId}`);
        const { jwks, jwks_uri, require_signed_request_object, ...rest } = row.metadata;
        const current = { ...(jwks ? { jwks } : {}), ...(jwks_uri ? { jwks_uri } : {}), ...(require_signed_request_object ? { require_signed_request_object } : {}) };
        const metadata = { ...rest, ...requestObjectMetadata(settings, current) };
        const [saved] = await trx('clients').where({ client_id: clientId }).update({ metadata: JSON.stringify(metadata) }).returning('*');
        return toSummary(saved as ClientRow);
      }),
    );
  }

  /** At most `limit` clients by client_id, after `after` (keyset pagination). */
  async page(options: { after?: string | undefined; limit: number }): Promise<ClientSummary[]> {
    const query = this.#db<ClientRow>('clients').orderBy('client_id').limit(options.limit);
    if (options.after !== undefined) query.where('client_id', '>', options.after);
    return (await query).map(toSummary);
  }

  /**
   * Changes a client's registration. `expect`, given the registration as it is (the row locked),
   * may refuse the change (a stale ETag); every process's cached metadata is dropped.
   */
  async update(clientId: string, changes: ClientChanges, expect?: (current: ClientSummary) => void): Promise<ClientSummary> {
    if (clientId.includes('\0')) throw new NotFound(`no client ${clientId}`);
    const [row] = await this.#changing([clientId], () =>
      this.#db.transaction(async (trx) => {
        const found = await trx<ClientRow>('clients').where({ client_id: clientId }).forUpdate().first();
        if (!found) throw new NotFound(`no client ${clientId}`);
        const current = toSummary(found);
        expect?.(current);
        if (changes.applicationType !== undefined && !found.dynamic) throw new InvalidClientMetadata('only a dynamically registered client has an application type');
        const name = (changes.name ?? current.name).trim();
        if (!name) throw new InvalidClientMetadata('a client needs a name');
        const settings = validatedSettings({
          type: current.type,
          grantTypes: changes.grantTypes ?? current.grantTypes,
          redirectUris: changes.redirectUris ?? current.redirectUris,
          postLogoutRedirectUris: changes.postLogoutRedirectUris ?? current.postLogoutRedirectUris,
          scopes: changes.scopes ?? current.scopes,
        });
        return trx('clients')
          .where({ client_id: clientId })
          .update({
            name,
            first_party: changes.firstParty ?? current.firstParty,
            metadata: JSON.stringify({
              ...withLinks(withRequirements(withBackchannel(withPkcePolicy({ ...found.metadata, ...metadataOf(settings, found.metadata.token_endpoint_auth_method) }, changes.pkcePolicy), changes), changes), changes),
              ...(changes.applicationType ? { application_type: changes.applicationType } : {}),
            }),
            updated_at: trx.fn.now(),
          })
          .returning('*');
      }),
    );
    return toSummary(row as ClientRow);
  }

  /** A new secret for a confidential client, returned once; the old one stops working at once. */
  async rotateSecret(clientId: string, expect?: (current: ClientSummary) => void): Promise<{ client: ClientSummary; clientSecret: string }> {
    if (clientId.includes('\0')) throw new NotFound(`no client ${clientId}`);
    const clientSecret = randomBytes(32).toString('base64url');
    const [row] = await this.#changing([clientId], () =>
      this.#db.transaction(async (trx) => {
        const found = await trx<ClientRow>('clients').where({ client_id: clientId }).forUpdate().first();
        if (!found) throw new NotFound(`no client ${clientId}`);
        expect?.(toSummary(found));
        if (!found.client_secret_sealed) throw new InvalidClientMetadata(`client ${clientId} is public: it has no secret`);
        return trx('clients')
          .where({ client_id: clientId })
          .update({ client_secret_sealed: this.#envelope.seal(clientSecret, CLIENT_SECRET_SEALED, clientId), updated_at: trx.fn.now() })
          .returning('*');
      }),
    );
    return { client: toSummary(row as ClientRow), clientSecret };
  }

  /** Deletes the client with its grants and refresh tokens; `unusedOnly`: only a dynamic registration never used. */
  async delete(clientId: string, options: { unusedOnly?: boolean } = {}): Promise<void> {
    const remove = () =>
      this.#db.transaction(async (trx) => {
        const row = trx('clients').where({ client_id: clientId });
        if (options.unusedOnly) row.where({ dynamic: true }).whereNull('first_used_at');
        const deleted = deletedRows(await row.delete());
        if (deleted === 0) throw new NotFound(`no client ${clientId}`);
        return trx('oidc_payloads')
          .whereIn('model', ['Grant', 'RefreshToken', 'RegistrationAccessToken'])
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
  setBackchannelLogout(clientId: string, settings: BackchannelLogoutSettings): Promise<ClientSummary> {
    // the whole registration is replaced: a flag not given is off
    return this.update(clientId, { backchannelLogoutUri: settings.uri, backchannelLogoutSessionRequired: settings.uri === null ? settings.sessionRequired : (settings.sessionRequired ?? false) });
  }

  /**
   * Stores the client's logo (replacing any), checked by its bytes: PNG, JPEG or WebP, at most
   * 256 KiB; `declaredType` is what the caller said it sends.
   */
  async setLogo(clientId: string, body: Buffer, declaredType?: string): Promise<ClientSummary> {
    const logo = checkedLogo(body, declaredType);
    const [row] = await this.#changing([clientId], () =>
      this.#db.transaction(async (trx) => {
        const found = await trx<ClientRow>('clients').where({ client_id: clientId }).forUpdate().first();
        if (!found) throw new NotFound(`no client ${clientId}`);
        await trx('client_logos').insert({ client_id: clientId, body }).onConflict('client_id').merge({ body, created_at: trx.fn.now() });
        return trx('clients').where({ client_id: clientId }).update({ logo_sha256: logo.sha256, logo_type: logo.type, updated_at: trx.fn.now() }).returning('*');
      }),
    );
    return toSummary(row as ClientRow);
  }

  /** Removes the client's logo; its pages show none from then on. */
  async removeLogo(clientId: string): Promise<ClientSummary> {
    const [row] = await this.#changing([clientId], () =>
      this.#db.transaction(async (trx) => {
        const found = await trx<ClientRow>('clients').where({ client_id: clientId }).forUpdate().first();
        if (!found) throw new NotFound(`no client ${clientId}`);
        await trx('client_logos').where({ client_id: clientId }).delete();
        return trx('clients').where({ client_id: clientId }).update({ logo_sha256: null, logo_type: null, updated_at: trx.fn.now() }).returning('*');
      }),
    );
    return toSummary(row as ClientRow);
  }

  /** The client's logo when `sha256` names its current one; undefined for an old or unknown hash. */
  async logo(clientId: string, sha256: string): Promise<{ body: Buffer; type: ClientLogo['type'] } | undefined> {
    const row = await this.#db('clients')
      .join('client_logos', 'client_logos.client_id', 'clients.client_id')
      .where({ 'clients.client_id': clientId, 'clients.logo_sha256': sha256 })
      .first<{ body: Uint8Array; logo_type: ClientLogo['type'] } | undefined>('client_logos.body', 'clients.logo_type');
    return row ? { body: Buffer.from(row.body), type: row.logo_type } : undefined;
  }

  /**
   * Notes that a dynamically registered client got a token (so the sweep of registrations never
   * used leaves it alone). Written once per client and process; other clients are not written.
   */
  async markUsed(clientId: string): Promise<void> {
    if (this.#settledUse.has(clientId)) return;
    await this.#db('clients').where({ client_id: clientId, dynamic: true }).whereNull('first_used_at').update({ first_used_at: this.#db.fn.now() });
    if (this.#settledUse.size > 10_000) this.#settledUse.clear();
    this.#settledUse.add(clientId);
  }

  /** Deletes dynamic registrations made more than `olderThanSeconds` ago that never got a token; returns their ids. */
  async sweepUnused(olderThanSeconds: number): Promise<string[]> {
    const stale = await this.#db<ClientRow>('clients')
      .where({ dynamic: true })
      .whereNull('first_used_at')
      .where('created_at', '<', new Date(Date.now() - olderThanSeconds * 1000))
      .orderBy('created_at')
      .limit(500)
      .pluck('client_id');
    const removed: string[] = [];
    for (const clientId of stale) {
      try {
        await this.delete(clientId, { unusedOnly: true });
        removed.push(clientId);
      } catch (error) {
        if (!(error instanceof NotFound)) throw error;
      }
    }
    return removed;
  }

  /** Metadata for the protocol engine, secret opened; read through the cache. */
  metadataFor(clientId: string): Promise<ClientMetadata | undefined> {
    return this.#metadataCache.get(clientId, () => this.#loadMetadata(clientId));
  }

  async #loadMetadata(clientId: string): Promise<ClientMetadata | undefined> {
    const row = await this.#db<ClientRow>('clients').where({ client_id: clientId }).first();
    if (!row) return undefined;
    const exchanges = (row.metadata.token_exchange_audiences?.length ?? 0) > 0;
    return {
      ...row.metadata,
      // the audiences it may exchange for are its permission to use the grant at all
      ...(exchanges ? { grant_types: [...row.metadata.grant_types, TOKEN_EXCHANGE_GRANT] as GrantType[] } : {}),
      client_id: row.client_id,
      client_name: row.name,
      first_party: row.first_party,
      ...(row.logo_sha256 && row.logo_type ? { logo: { sha256: row.logo_sha256, type: row.logo_type } } : {}),
      ...(row.client_secret_sealed ? { client_secret: this.#envelope.open(row.client_secret_sealed, CLIENT_SECRET_SEALED, row.client_id) } : {}),
    };
  }
}
