import type { AdminScope } from '../../domain/admin-access.ts';
import { CLIENT_LOGO_MAX_BYTES, CLIENT_LOGO_TYPES } from '../../domain/client-presentation.ts';
import { CLIENT_ID, ENGINE_ID, INITIAL_ACCESS_TOKEN_ID, ROLE_NAME } from './schemas.ts';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface ParameterSpec {
  name: string;
  in: 'path' | 'query';
  description: string;
  required?: boolean;
  schema: Record<string, unknown>;
}

export interface OperationSpec {
  operationId: string;
  method: HttpMethod;
  /** below /admin/v1 */
  path: string;
  tag: string;
  summary: string;
  /** undefined: served without a token (the document and its reference page) */
  scope?: AdminScope;
  parameters?: ParameterSpec[];
  /** the component schema of the JSON body */
  body?: string;
  /** the body is an image of one of these types, at most `maxBytes` (not JSON) */
  image?: { types: readonly string[]; maxBytes: number };
  /** the change needs `If-Match` with the resource's current ETag */
  ifMatch?: boolean;
  /** status → component schema of the answer (null: no body) */
  responses: Record<number, { description: string; schema: string | null; etag?: boolean }>;
}

const param = (name: string, description: string, schema: Record<string, unknown>): ParameterSpec => ({ name, in: 'path', required: true, description, schema });
const query = (name: string, description: string, schema: Record<string, unknown>): ParameterSpec => ({ name, in: 'query', description, schema });

const CLIENT = param('clientId', 'the client_id', CLIENT_ID);
const USER = param('userId', "the account's id", { type: 'string', format: 'uuid' });
const ROLE = param('roleName', "the role's name (any case)", ROLE_NAME);
const API = param('apiId', "the API's identifier, percent-encoded as one path segment", { type: 'string', minLength: 1, maxLength: 2000, pattern: '^[^\\u0000-\\u001f\\u007f]+$' });
const SESSION = param('sessionId', "the session's id", ENGINE_ID);
const PASSKEY = param('passkeyId', "the passkey's credential id (base64url)", { type: 'string', minLength: 1, maxLength: 1024, pattern: '^[A-Za-z0-9_-]+$' });
const GRANT = param('grantId', "the grant's id", ENGINE_ID);
export const PAGE_PARAMETERS: ParameterSpec[] = [
  query('limit', 'items per page (default 50)', { type: 'integer', minimum: 1, maximum: 200, default: 50 }),
  query('cursor', "the previous page's nextCursor", { type: 'string', minLength: 1, maxLength: 512, pattern: '^[A-Za-z0-9_-]+$' }),
];

const ok = (schema: string, description = 'OK'): OperationSpec['responses'] => ({ 200: { description, schema } });
const withTag = (etag: boolean, schema: string, description = 'OK'): OperationSpec['responses'] => ({ 200: { description, schema, etag } });
const noContent: OperationSpec['responses'] = { 204: { description: 'done', schema: null } };

/** Every operation the admin API serves: the router, the validator and the document are made from this. */
export const OPERATIONS: OperationSpec[] = [
  { operationId: 'getOpenApiDocument', method: 'get', path: '/openapi.json', tag: 'reference', summary: 'this document', responses: ok('OpenApiDocument') },
  { operationId: 'getReferencePage', method: 'get', path: '/docs', tag: 'reference', summary: 'a reference page for people, made from this document', responses: { 200: { description: 'HTML', schema: null } } },

  { operationId: 'listClients', method: 'get', path: '/clients', tag: 'clients', summary: 'list clients by client_id', scope: 'admin:clients:read', parameters: PAGE_PARAMETERS, responses: ok('ClientPage') },
  { operationId: 'createClient', method: 'post', path: '/clients', tag: 'clients', summary: 'register a client; a confidential one gets its secret in this answer only', scope: 'admin:clients:write', body: 'NewClient', responses: { 201: { description: 'registered', schema: 'CreatedClient', etag: true } } },
  { operationId: 'getClient', method: 'get', path: '/clients/{clientId}', tag: 'clients', summary: "a client's registration", scope: 'admin:clients:read', parameters: [CLIENT], responses: withTag(true, 'Client') },
  { operationId: 'updateClient', method: 'patch', path: '/clients/{clientId}', tag: 'clients', summary: "change a client's registration (merge: fields left out stay)", scope: 'admin:clients:write', parameters: [CLIENT], body: 'ClientChanges', ifMatch: true, responses: withTag(true, 'Client') },
  { operationId: 'deleteClient', method: 'delete', path: '/clients/{clientId}', tag: 'clients', summary: 'delete a client with its grants and refresh tokens', scope: 'admin:clients:write', parameters: [CLIENT], responses: noContent },
  { operationId: 'rotateClientSecret', method: 'post', path: '/clients/{clientId}/secret', tag: 'clients', summary: 'a new secret, in this answer only; the old one stops working at once', scope: 'admin:clients:write', parameters: [CLIENT], responses: withTag(true, 'ClientWithSecret') },
  {
    operationId: 'setClientLogo',
    method: 'put',
    path: '/clients/{clientId}/logo',
    tag: 'clients',
    summary: `store the logo the sign-in and consent pages show (PNG, JPEG or WebP, at most ${CLIENT_LOGO_MAX_BYTES / 1024} KiB; SVG is refused); Postern serves it from its own origin and publishes that address as logo_uri`,
    scope: 'admin:clients:write',
    parameters: [CLIENT],
    image: { types: CLIENT_LOGO_TYPES, maxBytes: CLIENT_LOGO_MAX_BYTES },
    responses: withTag(true, 'Client'),
  },
  { operationId: 'deleteClientLogo', method: 'delete', path: '/clients/{clientId}/logo', tag: 'clients', summary: 'remove the logo; the pages show none', scope: 'admin:clients:write', parameters: [CLIENT], responses: withTag(true, 'Client') },
  { operationId: 'listClientRoles', method: 'get', path: '/clients/{clientId}/roles', tag: 'clients', summary: 'the roles a client holds for its own tokens', scope: 'admin:clients:read', parameters: [CLIENT], responses: ok('HeldRoles') },
  { operationId: 'grantClientRole', method: 'put', path: '/clients/{clientId}/roles/{roleName}', tag: 'clients', summary: 'give a role to a client-credentials client', scope: 'admin:roles:write', parameters: [CLIENT, ROLE], responses: noContent },
  { operationId: 'revokeClientRole', method: 'delete', path: '/clients/{clientId}/roles/{roleName}', tag: 'clients', summary: 'take a role from a client', scope: 'admin:roles:write', parameters: [CLIENT, ROLE], responses: noContent },

  { operationId: 'listInitialAccessTokens', method: 'get', path: '/initial-access-tokens', tag: 'client registration', summary: 'initial access tokens for dynamic client registration (RFC 7591), oldest first, never their values', scope: 'admin:clients:read', parameters: PAGE_PARAMETERS, responses: ok('InitialAccessTokenPage') },
  { operationId: 'createInitialAccessToken', method: 'post', path: '/initial-access-tokens', tag: 'client registration', summary: 'make an initial access token; its value is in this answer only', scope: 'admin:clients:write', body: 'NewInitialAccessToken', responses: { 201: { description: 'made', schema: 'CreatedInitialAccessToken' } } },
  { operationId: 'revokeInitialAccessToken', method: 'delete', path: '/initial-access-tokens/{tokenId}', tag: 'client registration', summary: 'revoke an initial access token (clients it registered stay)', scope: 'admin:clients:write', parameters: [param('tokenId', "the token's id", INITIAL_ACCESS_TOKEN_ID)], responses: noContent },

  { operationId: 'listUsers', method: 'get', path: '/users', tag: 'users', summary: 'list user accounts by id', scope: 'admin:users:read', parameters: PAGE_PARAMETERS, responses: ok('UserPage') },
  { operationId: 'createUser', method: 'post', path: '/users', tag: 'users', summary: 'create a user account', scope: 'admin:users:write', body: 'NewUser', responses: { 201: { description: 'created', schema: 'User', etag: true } } },
  { operationId: 'getUser', method: 'get', path: '/users/{userId}', tag: 'users', summary: 'a user account', scope: 'admin:users:read', parameters: [USER], responses: withTag(true, 'User') },
  { operationId: 'updateUser', method: 'patch', path: '/users/{userId}', tag: 'users', summary: 'change a profile, or disable (ending every session) or enable an account', scope: 'admin:users:write', parameters: [USER], body: 'UserChanges', ifMatch: true, responses: withTag(true, 'User') },
  { operationId: 'deleteUser', method: 'delete', path: '/users/{userId}', tag: 'users', summary: 'delete an account with its grants, refresh tokens and sessions', scope: 'admin:users:write', parameters: [USER], responses: noContent },
  { operationId: 'unlockUser', method: 'post', path: '/users/{userId}/unlock', tag: 'users', summary: "lift the account's sign-in lockout", scope: 'admin:users:write', parameters: [USER], responses: noContent },
  { operationId: 'resetUserSecondFactor', method: 'delete', path: '/users/{userId}/second-factor', tag: 'users', summary: 'turn the second factor off and remove the recovery codes', scope: 'admin:users:write', parameters: [USER], responses: noContent },
  { operationId: 'listUserPasskeys', method: 'get', path: '/users/{userId}/passkeys', tag: 'users', summary: "a user's passkeys, oldest first", scope: 'admin:users:read', parameters: [USER], responses: ok('PasskeyList') },
  { operationId: 'deleteUserPasskey', method: 'delete', path: '/users/{userId}/passkeys/{passkeyId}', tag: 'users', summary: 'remove one passkey: it signs in no more', scope: 'admin:users:write', parameters: [USER, PASSKEY], responses: noContent },
  { operationId: 'setUserPassword', method: 'put', path: '/users/{userId}/password', tag: 'users', summary: 'set a password (the password policy applies)', scope: 'admin:users:write', parameters: [USER], body: 'NewPassword', responses: noContent },
  { operationId: 'sendUserPasswordReset', method: 'post', path: '/users/{userId}/password-reset', tag: 'users', summary: "mail a password reset link to the account's address", scope: 'admin:users:write', parameters: [USER], responses: { 202: { description: 'mailed', schema: null } } },
  { operationId: 'listUserRoles', method: 'get', path: '/users/{userId}/roles', tag: 'users', summary: 'the roles a user holds', scope: 'admin:users:read', parameters: [USER], responses: ok('HeldRoles') },
  { operationId: 'grantUserRole', method: 'put', path: '/users/{userId}/roles/{roleName}', tag: 'users', summary: 'give a role to a user', scope: 'admin:roles:write', parameters: [USER, ROLE], responses: noContent },
  { operationId: 'revokeUserRole', method: 'delete', path: '/users/{userId}/roles/{roleName}', tag: 'users', summary: 'take a role from a user', scope: 'admin:roles:write', parameters: [USER, ROLE], responses: noContent },
  { operationId: 'listUserSessions', method: 'get', path: '/users/{userId}/sessions', tag: 'users', summary: "a user's browser sessions, most recently seen first", scope: 'admin:users:read', parameters: [USER, ...PAGE_PARAMETERS], responses: ok('SessionPage') },
  { operationId: 'endUserSessions', method: 'delete', path: '/users/{userId}/sessions', tag: 'users', summary: 'sign out everywhere: every session ends, every token is revoked', scope: 'admin:users:write', parameters: [USER], responses: ok('SessionsEnded') },
  { operationId: 'endUserSession', method: 'delete', path: '/users/{userId}/sessions/{sessionId}', tag: 'users', summary: 'end one session', scope: 'admin:users:write', parameters: [USER, SESSION], responses: noContent },
  { operationId: 'listUserGrants', method: 'get', path: '/users/{userId}/grants', tag: 'users', summary: 'what a user allowed applications, newest first', scope: 'admin:users:read', parameters: [USER, ...PAGE_PARAMETERS], responses: ok('GrantPage') },
  { operationId: 'revokeUserGrant', method: 'delete', path: '/users/{userId}/grants/{grantId}', tag: 'users', summary: 'withdraw a grant and every token issued under it', scope: 'admin:users:write', parameters: [USER, GRANT], responses: noContent },

  { operationId: 'listRoles', method: 'get', path: '/roles', tag: 'roles', summary: 'list roles by name', scope: 'admin:roles:read', parameters: PAGE_PARAMETERS, responses: ok('RolePage') },
  { operationId: 'createRole', method: 'post', path: '/roles', tag: 'roles', summary: 'create a role', scope: 'admin:roles:write', body: 'NewRole', responses: { 201: { description: 'created', schema: 'Role', etag: true } } },
  { operationId: 'getRole', method: 'get', path: '/roles/{roleName}', tag: 'roles', summary: 'a role with its holders', scope: 'admin:roles:read', parameters: [ROLE], responses: withTag(true, 'Role') },
  { operationId: 'updateRole', method: 'patch', path: '/roles/{roleName}', tag: 'roles', summary: "change a role's description, or replace its permissions", scope: 'admin:roles:write', parameters: [ROLE], body: 'RoleChanges', ifMatch: true, responses: withTag(true, 'Role') },
  { operationId: 'deleteRole', method: 'delete', path: '/roles/{roleName}', tag: 'roles', summary: 'delete a role; its holders lose what it gave', scope: 'admin:roles:write', parameters: [ROLE], responses: noContent },

  { operationId: 'listApis', method: 'get', path: '/apis', tag: 'apis', summary: 'list APIs (resource servers) by identifier', scope: 'admin:apis:read', parameters: PAGE_PARAMETERS, responses: ok('ApiPage') },
  { operationId: 'createApi', method: 'post', path: '/apis', tag: 'apis', summary: 'register an API and its scopes (permissions)', scope: 'admin:apis:write', body: 'NewApi', responses: { 201: { description: 'registered', schema: 'Api', etag: true } } },
  { operationId: 'getApi', method: 'get', path: '/apis/{apiId}', tag: 'apis', summary: "an API's registration", scope: 'admin:apis:read', parameters: [API], responses: withTag(true, 'Api') },
  { operationId: 'updateApi', method: 'patch', path: '/apis/{apiId}', tag: 'apis', summary: "change an API; `scopes` replaces them, removing role permissions on scopes that go", scope: 'admin:apis:write', parameters: [API], body: 'ApiChanges', ifMatch: true, responses: withTag(true, 'Api') },
  { operationId: 'deleteApi', method: 'delete', path: '/apis/{apiId}', tag: 'apis', summary: 'delete an API with its scopes and the permissions roles gave on it', scope: 'admin:apis:write', parameters: [API], responses: noContent },

  {
    operationId: 'listAuditEvents',
    method: 'get',
    path: '/audit-events',
    tag: 'audit',
    summary: 'audit events, newest first',
    scope: 'admin:audit:read',
    parameters: [
      query('userId', 'events about this account', { type: 'string', format: 'uuid' }),
      query('clientId', 'events about this client', CLIENT_ID),
      query('type', 'one event type, e.g. login.failed', { type: 'string', minLength: 1, maxLength: 100, pattern: '^[a-z0-9_.]+$' }),
      query('actor', 'changes made by this actor: cli, or client:<client_id>', { type: 'string', minLength: 1, maxLength: 200, pattern: '^[^\\u0000-\\u001f\\u007f]+$' }),
      query('since', 'at or after this time', { type: 'string', format: 'date-time' }),
      query('until', 'before this time', { type: 'string', format: 'date-time' }),
      ...PAGE_PARAMETERS,
    ],
    responses: ok('AuditEventPage'),
  },

  { operationId: 'listSigningKeys', method: 'get', path: '/signing-keys', tag: 'signing keys', summary: 'signing keys, newest first, without their private parts', scope: 'admin:keys:read', parameters: PAGE_PARAMETERS, responses: ok('SigningKeyPage') },
  {
    operationId: 'listLogoutDeliveries',
    method: 'get',
    path: '/logout-deliveries',
    tag: 'back-channel logout',
    summary: 'back-channel logout deliveries, newest first, with the count in each state',
    scope: 'admin:clients:read',
    parameters: [
      query('state', 'only deliveries in this state', { type: 'string', enum: ['pending', 'delivered', 'failed'] }),
      query('clientId', 'only deliveries to this client', CLIENT_ID),
      query('userId', 'only deliveries about this account', { type: 'string', format: 'uuid' }),
      ...PAGE_PARAMETERS,
    ],
    responses: ok('LogoutDeliveryPage'),
  },
  {
    operationId: 'retryLogoutDeliveries',
    method: 'post',
    path: '/logout-deliveries/retry',
    tag: 'back-channel logout',
    summary: 'start failed deliveries again from their first attempt (all, one client\'s, or one)',
    scope: 'admin:clients:write',
    parameters: [query('clientId', "only this client's failed deliveries", CLIENT_ID), query('id', 'only this delivery', { type: 'string', pattern: '^[0-9]{1,18}$' })],
    responses: ok('RetriedDeliveries'),
  },
  {
    operationId: 'rotateSigningKeys',
    method: 'post',
    path: '/signing-keys/rotate',
    tag: 'signing keys',
    summary: 'the next key signs from now on, the current one becomes previous, a new next key is published; 409 while the next key has not been published for the JWKS cache lifetime, unless now=true',
    scope: 'admin:keys:write',
    parameters: [query('now', 'rotate even though relying parties may not have the next key yet', { type: 'boolean', default: false })],
    responses: ok('KeyRotation'),
  },
  {
    operationId: 'retireSigningKey',
    method: 'post',
    path: '/signing-keys/{kid}/retire',
    tag: 'signing keys',
    summary: 'take a previous or next key out of the JWKS: tokens it signed are refused from then on',
    scope: 'admin:keys:write',
    parameters: [param('kid', "the key's id", { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' })],
    responses: ok('SigningKey'),
  },
];
