/**
 * The admin API's JSON Schemas (OpenAPI 3.1 uses JSON Schema 2020-12). Requests are validated
 * against these and nothing else; the tests validate every response against them too.
 */
type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const nullable = (schema: Schema): Schema => ({ oneOf: [schema, { type: 'null' }] });
/** Text without control characters, which no stored field holds. */
const text = (maxLength: number, minLength = 0): Schema => ({ type: 'string', minLength, maxLength, pattern: '^[^\\u0000-\\u001f\\u007f]*$' });
const dateTime: Schema = { type: 'string', format: 'date-time' };
const uri: Schema = { type: 'string', format: 'uri', maxLength: 2000 };
const list = (items: Schema, maxItems = 100): Schema => ({ type: 'array', items, maxItems });
const page = (item: string): Schema => ({
  type: 'object',
  required: ['items', 'nextCursor'],
  additionalProperties: false,
  properties: { items: list(ref(item), 200), nextCursor: nullable({ type: 'string' }) },
});

export const SCOPE_TOKEN: Schema = { type: 'string', minLength: 1, maxLength: 200, pattern: '^[\\x21\\x23-\\x5B\\x5D-\\x7E]+$' };
export const CLIENT_ID: Schema = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$' };
export const ROLE_NAME: Schema = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[\\p{L}\\p{N}][\\p{L}\\p{N}._:/-]{0,63}$' };
export const INITIAL_ACCESS_TOKEN_ID: Schema = { type: 'string', pattern: '^[0-9a-f]{16}$' };
export const ENGINE_ID: Schema = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,200}$' };

const GRANT_TYPE: Schema = {
  type: 'string',
  enum: ['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code'],
  description: '`urn:ietf:params:oauth:grant-type:device_code`: the device authorization grant (RFC 8628), served when POSTERN_DEVICE_FLOW is on',
};
const ACCESS: Schema = { type: 'string', enum: ['open', 'roles'], description: '`roles`: only what roles give; `open`: every user and client' };
const PERMISSION: Schema = {
  type: 'object',
  required: ['resourceServer', 'scope'],
  additionalProperties: false,
  properties: { resourceServer: uri, scope: SCOPE_TOKEN },
};
const API_SCOPE: Schema = {
  type: 'object',
  required: ['scope'],
  additionalProperties: false,
  properties: { scope: SCOPE_TOKEN, description: text(500) },
};

const clientFields = {
  name: text(200, 1),
  redirectUris: list(uri, 50),
  postLogoutRedirectUris: list(uri, 50),
  grantTypes: { ...list(GRANT_TYPE, 4), minItems: 1 },
  scopes: { ...list(SCOPE_TOKEN), description: 'scopes the client may ask for; empty: every registered scope' },
  firstParty: { type: 'boolean', description: 'your own application: the consent page is skipped' },
  backchannelLogoutUri: { ...nullable({ type: 'string', format: 'uri', maxLength: 2000 }), description: 'where the application hears that a session it had ended (OpenID Connect Back-Channel Logout); null: it is not told' },
  backchannelLogoutSessionRequired: { type: 'boolean', description: 'the application needs sid in logout tokens (always sent)' },
  clientUri: { ...nullable(uri), description: "the application's home page, linked from its name on the sign-in and consent pages; https (http on loopback only); null: none" },
  policyUri: { ...nullable(uri), description: "the application's privacy policy, linked on the sign-in and consent pages; https (http on loopback only)" },
  tosUri: { ...nullable(uri), description: "the application's terms of service, linked on the sign-in and consent pages; https (http on loopback only)" },
  dpopBoundAccessTokens: { type: 'boolean', description: 'every token request carries a DPoP proof (RFC 9449): access and refresh tokens are bound to its key (dpop_bound_access_tokens)' },
  tokenExchangeAudiences: { ...list(uri, 20), description: 'the APIs (resource identifiers) the client may exchange a user\'s access token for (RFC 8693 token exchange); empty: none. Confidential clients only' },
  requirePushedAuthorizationRequests: { type: 'boolean', description: 'authorization requests only through the pushed authorization request endpoint (RFC 9126; require_pushed_authorization_requests); POSTERN_REQUIRE_PAR requires it of every client' },
  pkcePolicy: {
    type: 'string',
    enum: ['required', 'nonce_instead'],
    description: '`required`: every authorization request carries PKCE; `nonce_instead`: a confidential client may leave it out of an OpenID request carrying a nonce (refused for public clients; audited)',
  },
};

const AUTH_METHOD: Schema = { type: 'string', enum: ['client_secret_basic', 'client_secret_post'], description: 'how a confidential client authenticates at the token endpoint' };

const client: Schema = {
  type: 'object',
  required: ['clientId', 'name', 'type', 'firstParty', 'redirectUris', 'postLogoutRedirectUris', 'grantTypes', 'scopes', 'tokenEndpointAuthMethod', 'pkcePolicy', 'backchannelLogoutUri', 'backchannelLogoutSessionRequired', 'dpopBoundAccessTokens', 'requirePushedAuthorizationRequests', 'tokenExchangeAudiences', 'clientUri', 'policyUri', 'tosUri', 'logoUri', 'dynamic', 'firstUsedAt', 'createdAt'],
  additionalProperties: false,
  properties: {
    clientId: CLIENT_ID,
    type: { type: 'string', enum: ['confidential', 'public'] },
    ...clientFields,
    logoUri: { ...nullable(uri), description: 'where Postern serves the logo stored with PUT /clients/{clientId}/logo (its content hash in the path); null: none' },
    tokenEndpointAuthMethod: { type: 'string', enum: ['client_secret_basic', 'client_secret_post', 'none'] },
    dynamic: { type: 'boolean', description: 'the application registered itself at the registration endpoint (RFC 7591)' },
    firstUsedAt: { ...nullable(dateTime), description: 'when it first got a token; null: never (a dynamic registration never used is removed after POSTERN_CLIENT_REGISTRATION_UNUSED_TTL)' },
    createdAt: dateTime,
  },
};

const claimText = (max = 200): Schema => nullable({ type: 'string', maxLength: max });
/** The standard claims beyond names and email (OpenID Connect Core §5.1); null removes one. Checked further by the domain. */
const PROFILE_CLAIMS: Schema = {
  type: 'object',
  additionalProperties: false,
  description: 'standard claims (OpenID Connect Core 5.1) released with the profile, phone and address scopes',
  properties: {
    middle_name: claimText(),
    nickname: claimText(),
    profile: claimText(2000),
    picture: claimText(2000),
    website: claimText(2000),
    gender: claimText(),
    birthdate: claimText(10),
    zoneinfo: claimText(64),
    locale: claimText(35),
    phone_number: claimText(32),
    phone_number_verified: nullable({ type: 'boolean' }),
    address: nullable({
      type: 'object',
      additionalProperties: false,
      properties: {
        formatted: claimText(500),
        street_address: claimText(),
        locality: claimText(),
        region: claimText(),
        postal_code: claimText(),
        country: claimText(),
      },
    }),
  },
};

const userProfile = {
  email: nullable({ type: 'string', format: 'email', maxLength: 254 }),
  emailVerified: { type: 'boolean' },
  name: nullable(text(200)),
  givenName: nullable(text(200)),
  familyName: nullable(text(200)),
};

const role: Schema = {
  type: 'object',
  required: ['name', 'description', 'permissions', 'createdAt'],
  additionalProperties: false,
  properties: {
    name: ROLE_NAME,
    description: nullable(text(500)),
    permissions: list(PERMISSION, 500),
    createdAt: dateTime,
    users: { type: 'integer', minimum: 0, description: 'how many users hold it (in lists)' },
    clients: { type: 'integer', minimum: 0, description: 'how many clients hold it (in lists)' },
    holders: {
      type: 'object',
      description: 'who holds it (on a single role)',
      required: ['users', 'clients'],
      additionalProperties: false,
      properties: {
        users: list({ type: 'object', required: ['id', 'username'], additionalProperties: false, properties: { id: { type: 'string' }, username: { type: 'string' } } }, 100_000),
        clients: list({ type: 'object', required: ['clientId', 'name'], additionalProperties: false, properties: { clientId: CLIENT_ID, name: { type: 'string' } } }, 100_000),
      },
    },
  },
};

const api: Schema = {
  type: 'object',
  required: ['identifier', 'name', 'isDefault', 'access', 'accessTokenTtl', 'scopes', 'introspectors'],
  additionalProperties: false,
  properties: {
    identifier: uri,
    name: text(200, 1),
    isDefault: { type: 'boolean' },
    access: ACCESS,
    accessTokenTtl: nullable({ type: 'integer', minimum: 1 }),
    scopes: list({ type: 'object', required: ['scope', 'description'], additionalProperties: false, properties: { scope: SCOPE_TOKEN, description: nullable({ type: 'string' }) } }, 500),
    introspectors: list(CLIENT_ID, 500),
  },
};

export const SCHEMAS: Record<string, Schema> = {
  Problem: {
    type: 'object',
    description: 'RFC 9457 problem details',
    required: ['type', 'title', 'status'],
    properties: {
      type: { type: 'string' },
      title: { type: 'string' },
      status: { type: 'integer', minimum: 400, maximum: 599 },
      detail: { type: 'string' },
      code: { type: 'string', description: 'a stable code for the problem, e.g. not_found, validation_failed' },
      errors: list({
        type: 'object',
        required: ['pointer', 'message'],
        properties: { pointer: { type: 'string', description: 'JSON Pointer into the body, or the parameter' }, message: { type: 'string' } },
      }, 1000),
      requestId: { type: 'string' },
    },
  },
  Client: client,
  ClientWithSecret: {
    ...client,
    required: [...(client.required as string[]), 'clientSecret'],
    properties: { ...(client.properties as Schema), clientSecret: { type: 'string', description: 'shown this once' } },
  },
  CreatedClient: {
    ...client,
    properties: { ...(client.properties as Schema), clientSecret: { type: 'string', description: 'a confidential client\'s secret, shown this once' } },
  },
  NewClient: {
    type: 'object',
    required: ['name', 'type'],
    additionalProperties: false,
    properties: { ...clientFields, type: { type: 'string', enum: ['confidential', 'public'] }, clientId: CLIENT_ID, tokenEndpointAuthMethod: AUTH_METHOD },
  },
  ClientChanges: { type: 'object', minProperties: 1, additionalProperties: false, properties: clientFields },
  ClientPage: page('Client'),
  HeldRoles: {
    type: 'object',
    required: ['roles'],
    additionalProperties: false,
    properties: { roles: list({ type: 'object', required: ['name', 'permissions'], additionalProperties: false, properties: { name: ROLE_NAME, permissions: list(PERMISSION, 500) } }, 1000) },
  },
  Passkey: {
    type: 'object',
    required: ['id', 'name', 'transports', 'deviceType', 'backedUp', 'createdAt', 'lastUsedAt'],
    additionalProperties: false,
    properties: {
      id: { type: 'string', description: 'the credential id (base64url)' },
      name: { type: 'string' },
      transports: list({ type: 'string' }, 10),
      deviceType: { type: 'string', enum: ['singleDevice', 'multiDevice'], description: 'multiDevice: a synced passkey' },
      backedUp: { type: 'boolean' },
      createdAt: dateTime,
      lastUsedAt: nullable(dateTime),
    },
  },
  PasskeyList: {
    type: 'object',
    required: ['passkeys'],
    additionalProperties: false,
    properties: { passkeys: list(ref('Passkey'), 100) },
  },
  User: {
    type: 'object',
    required: ['id', 'username', 'email', 'emailVerified', 'name', 'givenName', 'familyName', 'profile', 'disabled', 'hasPassword', 'createdAt', 'updatedAt'],
    additionalProperties: false,
    properties: {
      id: { type: 'string', format: 'uuid' },
      username: { type: 'string' },
      ...userProfile,
      profile: PROFILE_CLAIMS,
      email: nullable({ type: 'string' }),
      disabled: { type: 'boolean' },
      hasPassword: { type: 'boolean' },
      createdAt: dateTime,
      updatedAt: dateTime,
    },
  },
  NewUser: {
    type: 'object',
    required: ['username'],
    additionalProperties: false,
    properties: {
      username: text(64, 1),
      ...userProfile,
      email: { type: 'string', format: 'email', maxLength: 254 },
      password: { type: 'string', minLength: 1, maxLength: 1024, description: 'checked against the password policy; without one the account cannot sign in yet' },
    },
  },
  UserChanges: {
    type: 'object',
    minProperties: 1,
    additionalProperties: false,
    properties: { ...userProfile, profile: PROFILE_CLAIMS, disabled: { type: 'boolean', description: 'true also ends every session and revokes every token' } },
  },
  UserPage: page('User'),
  NewPassword: {
    type: 'object',
    required: ['password'],
    additionalProperties: false,
    properties: { password: { type: 'string', minLength: 1, maxLength: 1024 }, endSessions: { type: 'boolean', description: 'also end every session (default true)' } },
  },
  Role: role,
  NewRole: {
    type: 'object',
    required: ['name'],
    additionalProperties: false,
    properties: { name: ROLE_NAME, description: text(500), permissions: list(PERMISSION, 500) },
  },
  RoleChanges: {
    type: 'object',
    minProperties: 1,
    additionalProperties: false,
    properties: { description: nullable(text(500)), permissions: list(PERMISSION, 500) },
  },
  RolePage: page('Role'),
  Api: api,
  NewApi: {
    type: 'object',
    required: ['identifier', 'name', 'scopes'],
    additionalProperties: false,
    properties: {
      identifier: uri,
      name: text(200, 1),
      isDefault: { type: 'boolean' },
      access: ACCESS,
      accessTokenTtl: { type: 'integer', minimum: 1, maximum: 86400 },
      scopes: { ...list(API_SCOPE, 500), minItems: 1 },
      introspectors: list(CLIENT_ID, 500),
    },
  },
  ApiChanges: {
    type: 'object',
    minProperties: 1,
    additionalProperties: false,
    properties: {
      name: text(200, 1),
      access: ACCESS,
      accessTokenTtl: nullable({ type: 'integer', minimum: 1, maximum: 86400 }),
      scopes: { ...list(API_SCOPE, 500), minItems: 1 },
      introspectors: list(CLIENT_ID, 500),
    },
  },
  ApiPage: page('Api'),
  Session: {
    type: 'object',
    required: ['id', 'startedAt', 'lastSeenAt', 'userAgent', 'ip', 'acr', 'amr', 'clientIds'],
    additionalProperties: false,
    properties: {
      id: { type: 'string' },
      startedAt: dateTime,
      lastSeenAt: nullable(dateTime),
      userAgent: nullable({ type: 'string' }),
      ip: nullable({ type: 'string' }),
      acr: nullable({ type: 'string' }),
      amr: list({ type: 'string' }),
      clientIds: list(CLIENT_ID, 1000),
    },
  },
  SessionPage: page('Session'),
  SessionsEnded: {
    type: 'object',
    required: ['sessions', 'grants'],
    additionalProperties: false,
    properties: { sessions: { type: 'integer', minimum: 0 }, grants: { type: 'integer', minimum: 0 } },
  },
  Grant: {
    type: 'object',
    required: ['id', 'clientId', 'scopes', 'apis', 'grantedAt'],
    additionalProperties: false,
    properties: {
      id: { type: 'string' },
      clientId: CLIENT_ID,
      scopes: list({ type: 'string' }, 1000),
      apis: list({ type: 'object', required: ['resource', 'scopes'], additionalProperties: false, properties: { resource: { type: 'string' }, scopes: list({ type: 'string' }, 1000) } }, 1000),
      grantedAt: dateTime,
    },
  },
  GrantPage: page('Grant'),
  AuditEvent: {
    type: 'object',
    required: ['id', 'at', 'type', 'accountId', 'clientId', 'actor', 'ip', 'userAgent', 'details'],
    additionalProperties: false,
    properties: {
      id: { type: 'string', pattern: '^[0-9]+$' },
      at: dateTime,
      type: { type: 'string' },
      accountId: nullable({ type: 'string' }),
      clientId: nullable({ type: 'string' }),
      actor: nullable({ type: 'string', description: '`cli`, or `client:<client_id>` for a client of this API' }),
      ip: nullable({ type: 'string' }),
      userAgent: nullable({ type: 'string' }),
      details: { type: 'object' },
    },
  },
  AuditEventPage: page('AuditEvent'),
  SigningKey: {
    type: 'object',
    required: ['kid', 'alg', 'status', 'createdAt', 'activatedAt'],
    additionalProperties: false,
    properties: {
      kid: { type: 'string' },
      alg: { type: 'string' },
      status: { type: 'string', enum: ['next', 'current', 'previous', 'retired'] },
      createdAt: dateTime,
      activatedAt: nullable(dateTime),
      deactivatedAt: { ...nullable(dateTime), description: 'when it stopped signing (became previous)' },
      retiredAt: { ...nullable(dateTime), description: 'when it left the JWKS' },
    },
  },
  SigningKeyPage: page('SigningKey'),
  LogoutDelivery: {
    type: 'object',
    required: ['id', 'clientId', 'uri', 'userId', 'sid', 'reason', 'state', 'attempts', 'nextAttemptAt', 'lastAttemptAt', 'lastError', 'createdAt', 'finishedAt'],
    additionalProperties: false,
    properties: {
      id: { type: 'string' },
      clientId: CLIENT_ID,
      uri: { type: 'string' },
      userId: { type: 'string' },
      sid: nullable({ type: 'string' }),
      reason: { type: 'string', enum: ['logout', 'session_ended', 'signed_out_everywhere', 'password_reset', 'account_deleted', 'admin'], description: 'how the session ended' },
      state: { type: 'string', enum: ['pending', 'delivered', 'failed'] },
      attempts: { type: 'integer', minimum: 0 },
      nextAttemptAt: nullable(dateTime),
      lastAttemptAt: nullable(dateTime),
      lastError: nullable({ type: 'string' }),
      createdAt: dateTime,
      finishedAt: nullable(dateTime),
    },
  },
  LogoutDeliveryPage: {
    type: 'object',
    required: ['counts', 'items', 'nextCursor'],
    additionalProperties: false,
    properties: {
      counts: {
        type: 'object',
        required: ['pending', 'delivered', 'failed'],
        additionalProperties: false,
        properties: { pending: { type: 'integer', minimum: 0 }, delivered: { type: 'integer', minimum: 0 }, failed: { type: 'integer', minimum: 0 } },
      },
      items: list(ref('LogoutDelivery'), 200),
      nextCursor: nullable({ type: 'string' }),
    },
  },
  InitialAccessToken: {
    type: 'object',
    required: ['id', 'description', 'createdAt', 'expiresAt', 'usesLeft', 'uses'],
    additionalProperties: false,
    properties: {
      id: INITIAL_ACCESS_TOKEN_ID,
      description: text(200),
      createdAt: dateTime,
      expiresAt: dateTime,
      usesLeft: { ...nullable({ type: 'integer', minimum: 0 }), description: 'registrations it may still make; null: any number until it expires' },
      uses: { type: 'integer', minimum: 0 },
    },
  },
  CreatedInitialAccessToken: {
    type: 'object',
    required: ['id', 'description', 'createdAt', 'expiresAt', 'usesLeft', 'uses', 'value'],
    additionalProperties: false,
    properties: {
      id: INITIAL_ACCESS_TOKEN_ID,
      description: text(200),
      createdAt: dateTime,
      expiresAt: dateTime,
      usesLeft: nullable({ type: 'integer', minimum: 0 }),
      uses: { type: 'integer', minimum: 0 },
      value: { type: 'string', description: 'the token, shown this once: the application sends it as a Bearer token to the registration endpoint' },
    },
  },
  NewInitialAccessToken: {
    type: 'object',
    additionalProperties: false,
    properties: {
      description: text(200),
      ttlSeconds: { type: 'integer', minimum: 60, maximum: 31536000, default: 86400, description: 'how long it stays valid' },
      maxUses: { type: 'integer', minimum: 1, maximum: 1000000, description: 'how many registrations it allows; absent: any number' },
    },
  },
  InitialAccessTokenPage: page('InitialAccessToken'),
  RetriedDeliveries: { type: 'object', required: ['restarted'], additionalProperties: false, properties: { restarted: { type: 'integer', minimum: 0 } } },
  KeyRotation: {
    type: 'object',
    required: ['current', 'previous', 'next'],
    additionalProperties: false,
    properties: {
      current: { type: 'string', description: 'the key that signs from now on' },
      previous: nullable({ type: 'string', description: 'the key that signed until now, still published' }),
      next: { type: 'string', description: 'the key published now to sign at the next rotation' },
    },
  },
  OpenApiDocument: { type: 'object', required: ['openapi', 'info', 'paths'] },
};
