/**
 * Every endpoint and page of Postern, with the methods it serves and valid-looking requests to
 * start from. `{{name}}` placeholders are filled from LiveValues when a request is sent.
 *
 * Families decide the error format a response must have: OAuth JSON (`error`,
 * `error_description`) on the protocol endpoints, HTML on the pages.
 */
export type Family = 'json' | 'page' | 'asset' | 'unknown';

export type Param = [name: string, value: string];

export interface Template {
  method: 'GET' | 'POST';
  path: string;
  query?: Param[];
  headers?: Array<[string, string]>;
  /** sent as application/x-www-form-urlencoded */
  form?: Param[];
  note: string;
}

export interface Endpoint {
  /** the route, as the statistics name it */
  route: string;
  family: Family;
  /** methods the endpoint serves (GET brings HEAD); OPTIONS is judged apart */
  methods: Array<'GET' | 'POST'>;
  templates: Template[];
}

const BOGUS_UID = 'Yh3kB7nq0vUJ2XlaR9TQs';
const form = 'application/x-www-form-urlencoded';
const basic: Array<[string, string]> = [['Authorization', 'Basic {{basic}}']];
const basic2: Array<[string, string]> = [['Authorization', 'Basic {{basic2}}']];
const authorizeQuery: Param[] = [
  ['client_id', '{{clientId}}'],
  ['response_type', 'code'],
  ['redirect_uri', '{{redirectUri}}'],
  ['scope', 'openid profile email'],
  ['code_challenge', '{{challenge}}'],
  ['code_challenge_method', 'S256'],
  ['state', 'fuzz-state'],
  ['nonce', 'fuzz-nonce'],
];
const loginCookies: Array<[string, string]> = [['Cookie', '{{loginCookies}}']];
const consentCookies: Array<[string, string]> = [['Cookie', '{{consentCookies}}']];
const accountCookies: Array<[string, string]> = [['Cookie', '{{accountCookies}}']];
const publicCookies: Array<[string, string]> = [['Cookie', '{{publicCookies}}']];

const interactionStep = (route: string, methods: Array<'GET' | 'POST'>, fields: Param[]): Endpoint => ({
  route: `/interaction/:uid/${route}`,
  family: 'page',
  methods,
  templates: [
    ...methods.map((method): Template => ({
      method,
      path: `/interaction/{{loginUid}}/${route}`,
      headers: loginCookies,
      form: method === 'POST' ? [['csrf', '{{loginCsrf}}'], ...fields] : undefined,
      note: 'the login interaction',
    })),
    { method: methods.at(-1)!, path: `/interaction/${BOGUS_UID}/${route}`, headers: loginCookies, form: methods.at(-1) === 'POST' ? [['csrf', '{{loginCsrf}}'], ...fields] : undefined, note: 'an unknown uid' },
  ],
});

const accountPage = (path: string, extra: Template[] = []): Endpoint => ({
  route: path,
  family: 'page',
  methods: ['GET', ...extra.map((template) => template.method).filter((method) => method === 'POST').slice(0, 1)],
  templates: [{ method: 'GET', path, headers: accountCookies, note: "bob's session" }, ...extra],
});

const accountForm = (path: string, fields: Param[]): Endpoint => ({
  route: path,
  family: 'page',
  methods: ['POST'],
  templates: [{ method: 'POST', path, headers: accountCookies, form: [['csrf', '{{accountCsrf}}'], ...fields], note: "bob's session" }],
});

/** A destructive account action: its GET asks first (the question page), its POST does it. */
const askedAccountForm = (path: string, query: Param[], fields: Param[]): Endpoint => ({
  route: path,
  family: 'page',
  methods: ['GET', 'POST'],
  templates: [
    { method: 'GET', path, query, headers: accountCookies, note: "the question, bob's session" },
    { method: 'POST', path, headers: accountCookies, form: [['csrf', '{{accountCsrf}}'], ...fields], note: "bob's session" },
  ],
});

export const ENDPOINTS: Endpoint[] = [
  { route: '/.well-known/openid-configuration', family: 'json', methods: ['GET'], templates: [{ method: 'GET', path: '/.well-known/openid-configuration', note: 'discovery' }] },
  { route: '/.well-known/oauth-authorization-server', family: 'json', methods: ['GET'], templates: [{ method: 'GET', path: '/.well-known/oauth-authorization-server', note: 'RFC 8414 metadata' }] },
  { route: '/jwks', family: 'json', methods: ['GET'], templates: [{ method: 'GET', path: '/jwks', note: 'keys' }] },
  {
    route: '/token',
    family: 'json',
    methods: ['POST'],
    templates: [
      {
        method: 'POST',
        path: '/token',
        headers: basic2,
        form: [['grant_type', 'authorization_code'], ['code', '{{code}}'], ['redirect_uri', '{{redirectUri}}'], ['code_verifier', '{{verifier}}']],
        note: 'authorization_code grant',
      },
      { method: 'POST', path: '/token', headers: basic2, form: [['grant_type', 'refresh_token'], ['refresh_token', '{{refreshToken2}}']], note: 'refresh_token grant' },
      { method: 'POST', path: '/token', headers: basic2, form: [['grant_type', 'client_credentials'], ['scope', 'read'], ['resource', '{{api}}']], note: 'client_credentials grant' },
      { method: 'POST', path: '/token', form: [['grant_type', 'client_credentials'], ['client_id', '{{clientId2}}'], ['client_secret', 'not-the-secret']], note: 'client_secret_post' },
      { method: 'POST', path: '/token', headers: basic2, form: [['grant_type', 'password'], ['username', 'alice'], ['password', 'x']], note: 'an unsupported grant' },
      {
        method: 'POST',
        path: '/token',
        headers: [...basic2, ['DPoP', 'eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2In0.eyJodG0iOiJQT1NUIn0.c2ln']],
        form: [['grant_type', 'client_credentials'], ['scope', 'read'], ['resource', '{{api}}']],
        note: 'a DPoP proof',
      },
      {
        method: 'POST',
        path: '/token',
        headers: basic,
        form: [['grant_type', 'urn:ietf:params:oauth:grant-type:token-exchange'], ['subject_token', '{{jwtAccessToken}}'], ['subject_token_type', 'urn:ietf:params:oauth:token-type:access_token'], ['resource', '{{api}}']],
        note: 'token exchange',
      },
    ],
  },
  {
    route: '/request',
    family: 'json',
    methods: ['POST'],
    templates: [{ method: 'POST', path: '/request', headers: basic, form: authorizeQuery, note: 'a pushed authorization request' }],
  },
  {
    route: '/token/introspection',
    family: 'json',
    methods: ['POST'],
    templates: [
      { method: 'POST', path: '/token/introspection', headers: basic, form: [['token', '{{accessToken}}']], note: 'an opaque access token' },
      { method: 'POST', path: '/token/introspection', headers: basic, form: [['token', '{{jwtAccessToken}}'], ['token_type_hint', 'access_token']], note: 'a JWT access token' },
      { method: 'POST', path: '/token/introspection', headers: basic, form: [['token', '{{refreshToken}}'], ['token_type_hint', 'refresh_token']], note: 'a refresh token' },
    ],
  },
  {
    route: '/token/revocation',
    family: 'json',
    methods: ['POST'],
    templates: [
      { method: 'POST', path: '/token/revocation', headers: basic2, form: [['token', '{{accessToken2}}']], note: 'an access token' },
      { method: 'POST', path: '/token/revocation', headers: basic2, form: [['token', '{{refreshToken2}}'], ['token_type_hint', 'refresh_token']], note: 'a refresh token' },
    ],
  },
  {
    route: '/me',
    family: 'json',
    methods: ['GET', 'POST'],
    templates: [
      { method: 'GET', path: '/me', headers: [['Authorization', 'Bearer {{accessToken}}']], note: 'bearer header' },
      { method: 'POST', path: '/me', form: [['access_token', '{{accessToken}}']], note: 'token in the body' },
    ],
  },
  {
    // OpenID Connect Core 3.1.2.1: the authorization endpoint MUST support GET and POST
    route: '/auth',
    family: 'page',
    methods: ['GET', 'POST'],
    templates: [
      { method: 'GET', path: '/auth', query: authorizeQuery, note: 'a code flow request' },
      { method: 'GET', path: '/auth', query: authorizeQuery, headers: consentCookies, note: 'a code flow request with a session' },
      { method: 'POST', path: '/auth', form: authorizeQuery, note: 'a code flow request' },
    ],
  },
  {
    route: '/auth/:uid',
    family: 'page',
    methods: ['GET'],
    templates: [
      { method: 'GET', path: '/auth/{{loginUid}}', headers: loginCookies, note: 'resume of the login interaction' },
      { method: 'GET', path: `/auth/${BOGUS_UID}`, note: 'an unknown uid' },
    ],
  },
  {
    // RP-Initiated Logout 1.0 §2: the OP MUST support GET and POST
    route: '/session/end',
    family: 'page',
    methods: ['GET', 'POST'],
    templates: [
      {
        method: 'GET',
        path: '/session/end',
        query: [['id_token_hint', '{{idToken}}'], ['post_logout_redirect_uri', '{{postLogoutRedirectUri}}'], ['state', 'fuzz']],
        headers: [['Cookie', '{{logoutCookies}}']],
        note: 'with an id_token_hint',
      },
      { method: 'POST', path: '/session/end', form: [['client_id', '{{clientId}}'], ['post_logout_redirect_uri', '{{postLogoutRedirectUri}}']], headers: [['Cookie', '{{logoutCookies}}']], note: 'with a client_id' },
    ],
  },
  {
    route: '/session/end/confirm',
    family: 'page',
    methods: ['POST'],
    templates: [
      { method: 'POST', path: '/session/end/confirm', form: [['xsrf', '{{logoutXsrf}}'], ['logout', 'yes']], headers: [['Cookie', '{{logoutCookies}}']], note: 'sign out' },
      { method: 'POST', path: '/session/end/confirm', form: [['xsrf', '{{logoutXsrf}}']], headers: [['Cookie', '{{logoutCookies}}']], note: 'stay signed in' },
    ],
  },
  { route: '/session/end/success', family: 'page', methods: ['GET'], templates: [{ method: 'GET', path: '/session/end/success', query: [['state', 'fuzz']], note: 'after sign-out' }] },
  {
    route: '/interaction/:uid',
    family: 'page',
    methods: ['GET'],
    templates: [
      { method: 'GET', path: '/interaction/{{loginUid}}', headers: loginCookies, note: 'the login prompt' },
      { method: 'GET', path: '/interaction/{{consentUid}}', headers: consentCookies, note: 'the consent prompt' },
      { method: 'GET', path: `/interaction/${BOGUS_UID}`, headers: loginCookies, note: 'an unknown uid' },
    ],
  },
  interactionStep('login', ['POST'], [['login', 'alice'], ['password', 'not the password of alice']]),
  interactionStep('totp', ['GET', 'POST'], [['code', '123456']]),
  interactionStep('enrol', ['GET', 'POST'], [['code', '123456']]),
  interactionStep('enrolled', ['POST'], []),
  {
    route: '/interaction/:uid/confirm',
    family: 'page',
    methods: ['POST'],
    templates: [
      { method: 'POST', path: '/interaction/{{consentUid}}/confirm', headers: consentCookies, form: [['csrf', '{{consentCsrf}}']], note: 'the consent prompt' },
      { method: 'POST', path: `/interaction/${BOGUS_UID}/confirm`, headers: consentCookies, form: [['csrf', '{{consentCsrf}}']], note: 'an unknown uid' },
    ],
  },
  {
    route: '/interaction/:uid/switch-account',
    family: 'page',
    methods: ['POST'],
    templates: [
      { method: 'POST', path: '/interaction/{{consentUid}}/switch-account', headers: consentCookies, form: [['csrf', '{{consentCsrf}}']], note: 'the consent prompt' },
      { method: 'POST', path: `/interaction/${BOGUS_UID}/switch-account`, headers: consentCookies, form: [['csrf', '{{consentCsrf}}']], note: 'an unknown uid' },
    ],
  },
  {
    route: '/interaction/:uid/abort',
    family: 'page',
    methods: ['POST'],
    templates: [
      { method: 'POST', path: '/interaction/{{loginUid}}/abort', headers: loginCookies, form: [['csrf', '{{loginCsrf}}']], note: 'the login prompt' },
      { method: 'POST', path: '/interaction/{{consentUid}}/abort', headers: consentCookies, form: [['csrf', '{{consentCsrf}}']], note: 'the consent prompt' },
    ],
  },
  accountPage('/account'),
  {
    route: '/account/callback',
    family: 'page',
    methods: ['GET'],
    templates: [{ method: 'GET', path: '/account/callback', query: [['code', 'fuzz-code'], ['state', 'fuzz-state'], ['iss', '{{issuer}}']], headers: accountCookies, note: 'an unexpected callback' }],
  },
  accountPage('/account/signed-out'),
  accountPage('/account/password', [
    {
      method: 'POST',
      path: '/account/password',
      headers: accountCookies,
      form: [['csrf', '{{accountCsrf}}'], ['current_password', 'not the password of bob'], ['new_password', 'a brand new passphrase'], ['confirm_password', 'a brand new passphrase']],
      note: 'a wrong current password',
    },
  ]),
  accountPage('/account/sessions'),
  askedAccountForm('/account/sessions/end', [['session', BOGUS_UID]], [['session', BOGUS_UID]]),
  askedAccountForm('/account/sessions/end-all', [], []),
  accountPage('/account/two-step'),
  accountPage('/account/two-step/enrol', [
    { method: 'POST', path: '/account/two-step/enrol', headers: accountCookies, form: [['csrf', '{{accountCsrf}}'], ['password', 'not the password of bob'], ['code', '123456']], note: 'a wrong password' },
  ]),
  askedAccountForm('/account/two-step/disable', [], [['password', 'not the password of bob'], ['code', '123456']]),
  accountForm('/account/two-step/recovery-codes', [['code', '123456']]),
  accountPage('/account/applications'),
  askedAccountForm('/account/applications/revoke', [['grants', BOGUS_UID]], [['grants', BOGUS_UID]]),
  {
    route: '/reset',
    family: 'page',
    methods: ['GET', 'POST'],
    templates: [
      { method: 'GET', path: '/reset', note: 'the form' },
      { method: 'POST', path: '/reset', headers: publicCookies, form: [['csrf', '{{publicCsrf}}'], ['login', 'nobody@example.test']], note: 'an unknown login' },
    ],
  },
  {
    route: '/reset/complete',
    family: 'page',
    methods: ['GET', 'POST'],
    templates: [
      { method: 'GET', path: '/reset/complete', query: [['token', '{{resetToken}}']], note: "carol's link" },
      {
        method: 'POST',
        path: '/reset/complete',
        headers: publicCookies,
        form: [['csrf', '{{publicCsrf}}'], ['token', '{{resetToken}}'], ['password', 'a brand new passphrase'], ['confirm', 'a different passphrase']],
        note: 'passwords that differ',
      },
    ],
  },
  {
    route: '/register',
    family: 'page',
    methods: ['GET', 'POST'],
    templates: [
      { method: 'GET', path: '/register', note: 'the form' },
      {
        method: 'POST',
        path: '/register',
        headers: publicCookies,
        form: [['csrf', '{{publicCsrf}}'], ['username', 'alice'], ['email', 'alice@example.test'], ['name', 'Alice'], ['password', 'a brand new passphrase'], ['confirm', 'a brand new passphrase']],
        note: 'a taken username',
      },
    ],
  },
  { route: '/register/verify', family: 'page', methods: ['GET'], templates: [{ method: 'GET', path: '/register/verify', query: [['token', '{{verifyToken}}']], note: 'a mailed link' }] },
  { route: '/assets/style.css', family: 'asset', methods: ['GET'], templates: [{ method: 'GET', path: '/assets/style.css', note: 'the stylesheet' }] },
];

/** Paths that are none of the above; they must answer (404) like any other. */
export const UNKNOWN_PATHS = [
  '/',
  '/favicon.ico',
  '/robots.txt',
  '/admin',
  '/.env',
  '/.git/config',
  '/interaction',
  '/interaction/',
  `/interaction/${BOGUS_UID}/nope`,
  '/account/nope',
  '/account/sessions/nope',
  '/token/nope',
  '/token/introspection/x',
  '/assets/',
  '/assets/nope.css',
  '/assets/brand.css',
  '/client-logos/x/0000000000000000000000000000000000000000000000000000000000000000.png',
  '/assets/../package.json',
  '/.well-known/nope',
  '/session',
  '/reg',
  '/request',
  '/device',
  '/me/x',
  '/jwks.json',
  '/reset/nope',
  '/register/nope',
  '/auth/a/b',
];

export const FORM_TYPE = form;

/** Every template of every endpoint, in a fixed order. */
export const TEMPLATES: Array<{ endpoint: Endpoint; template: Template }> = ENDPOINTS.flatMap((endpoint) => endpoint.templates.map((template) => ({ endpoint, template })));

/** Every concrete path (with placeholders) an endpoint is reached at. */
export function pathsOf(endpoint: Endpoint): string[] {
  return [...new Set(endpoint.templates.map((template) => template.path))];
}

export const BODY_ENDPOINTS = ENDPOINTS.filter((endpoint) => endpoint.methods.includes('POST'));
