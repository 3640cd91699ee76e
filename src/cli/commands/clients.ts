import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { GRANT_TYPES, PKCE_POLICIES, type ClientChanges, type ClientSummary, type GrantType, type PkcePolicy, type PublicKeySet, type SecretAuthMethod } from '../../domain/clients.ts';
import { checkedLink, checkedLogo, CLIENT_LINK_FIELDS } from '../../domain/client-presentation.ts';
import { COMMON_OPTIONS, onePositional, parseOrUsage, requireOption } from '../args.ts';
import { UsageError } from '../errors.ts';
import type { Command, CommandGroup } from '../command.ts';
import { withServices } from '../open-services.ts';
import { formatFields, formatTable, listOf, timestamp, writeJson, yesNo } from '../output.ts';

const SECRET_NOTE = 'Store the client secret now: it is shown only this once and cannot be shown again.';

function clientFields(client: ClientSummary, roles?: string[]): Array<[string, string]> {
  return [
    ['client id', client.clientId],
    ['name', client.name],
    ['type', client.type],
    ['first party', yesNo(client.firstParty)],
    ['registered by', client.dynamic ? `itself (dynamic registration)${client.firstUsedAt ? '' : ', never used yet'}` : 'operator'],
    ['redirect uris', listOf(client.redirectUris)],
    ['post-logout uris', listOf(client.postLogoutRedirectUris)],
    ['grant types', listOf(client.grantTypes)],
    ['token endpoint auth', client.tokenEndpointAuthMethod],
    ['pkce', PKCE_WORDS[client.pkcePolicy]],
    ['request objects', client.requireSignedRequestObject ? 'required, signed' : 'optional'],
    ['public keys', client.jwksUri ?? (client.registeredKeys > 0 ? `${client.registeredKeys} registered` : 'none')],
    ['dpop', client.dpopBoundAccessTokens ? 'required (tokens bound to its key)' : 'optional'],
    ['pushed requests', client.requirePushedAuthorizationRequests ? 'required' : 'optional'],
    ['token exchange for', listOf(client.tokenExchangeAudiences, 'none')],
    ['scopes', listOf(client.scopes, 'any registered scope')],
    ['back-channel logout', client.backchannelLogoutUri ?? '-'],
    ...(client.backchannelLogoutUri ? [['logout needs sid', yesNo(client.backchannelLogoutSessionRequired)] as [string, string]] : []),
    ['home page', client.links.clientUri ?? '-'],
    ['privacy policy', client.links.policyUri ?? '-'],
    ['terms of service', client.links.tosUri ?? '-'],
    ['logo', client.logo ? `${client.logo.type}, sha256 ${client.logo.sha256.slice(0, 16)}…` : '-'],
    ...(roles ? [['roles', listOf(roles, 'none')] as [string, string]] : []),
    ['created', timestamp(client.createdAt)],
  ];
}

/** A JSON Web Key Set from a file: the client's public keys, never a secret. */
async function readKeySet(command: string, path: string | undefined): Promise<PublicKeySet | undefined> {
  if (path === undefined) return undefined;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`${command}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    return JSON.parse(text) as PublicKeySet;
  } catch {
    throw new UsageError(`${command}: ${path} is not JSON`);
  }
}

/** A logo file's bytes; what they are (PNG, JPEG or WebP, never SVG) the domain reads from them. */
async function readLogo(command: string, path: string | undefined): Promise<Buffer | undefined> {
  if (path === undefined) return undefined;
  try {
    return await readFile(path);
  } catch (error) {
    throw new UsageError(`${command}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/** `required` → true, `optional` → false, absent → unchanged. */
function requirement(option: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (value !== 'required' && value !== 'optional') throw new UsageError(`client update: ${option} is required or optional`);
  return value === 'required';
}

const PKCE_WORDS: Record<PkcePolicy, string> = {
  required: 'required',
  nonce_instead: 'may be left out of a request that carries a nonce (nonce_instead)',
};

const create: Command = {
  summary: 'register an application (confidential unless --public)',
  usage: `Usage: postern client create --name NAME [options]

Registers an application. It is confidential (it gets a client secret, shown once) unless
--public is given. PKCE is required for every client using the authorization code grant
unless --pkce-policy nonce_instead relaxes it (confidential clients only; see
\`postern client pkce --help\`).

Options:
  --name NAME                      name shown on the sign-in and consent pages (required)
  --public                         no secret: browser and native apps
  --redirect-uri URI               where sign-in responses go (repeat for several); exact match
  --post-logout-redirect-uri URI   where to return after sign-out (repeat for several)
  --grant-type TYPE                authorization_code, refresh_token, client_credentials or
                                   urn:ietf:params:oauth:grant-type:device_code (devices
                                   without a browser; needs POSTERN_DEVICE_FLOW=on)
                                   (repeat; default: authorization_code and refresh_token)
  --scope SCOPE                    an API scope the client may ask for (repeat; default: any)
  --first-party                    your own application: the consent page is skipped
  --token-endpoint-auth-method M   client_secret_basic (default) or client_secret_post
  --pkce-policy POLICY             required (default) or nonce_instead
  --jwks-file PATH                 the client's public keys (a JWKS), for signed request objects
  --jwks-uri URL                   where to fetch them instead
  --require-signed-request-object  authorization requests only as a signed request object
  --require-dpop                   every token request carries a DPoP proof (RFC 9449): its
                                   tokens are bound to the client's key (dpop_bound_access_tokens)
  --require-par                    authorization requests only pushed first (RFC 9126)
  --token-exchange-audience URI    an API it may exchange a user's access token for (RFC 8693;
                                   repeat for several; confidential clients only)
  --client-id ID                   choose the client_id instead of a random one
  --backchannel-logout-uri URI     where the application is told (OpenID Connect Back-Channel
                                   Logout) that a session it had ended
  --backchannel-logout-session-required
                                   the application needs sid in logout tokens (always sent)
  --client-uri URL                 its home page, linked from its name on the sign-in and
                                   consent pages (https; http for localhost only)
  --policy-uri URL                 its privacy policy, linked on those pages
  --tos-uri URL                    its terms of service, linked on those pages
  --json                           print JSON (with clientSecret) instead of text
`,
  async run(args, { io }) {
    const { values } = parseOrUsage('client create', () =>
      parseArgs({
        args,
        strict: true,
        options: {
          ...COMMON_OPTIONS,
          name: { type: 'string' },
          public: { type: 'boolean' },
          'redirect-uri': { type: 'string', multiple: true },
          'post-logout-redirect-uri': { type: 'string', multiple: true },
          'grant-type': { type: 'string', multiple: true },
          scope: { type: 'string', multiple: true },
          'first-party': { type: 'boolean' },
          'client-id': { type: 'string' },
          'token-endpoint-auth-method': { type: 'string' },
          'pkce-policy': { type: 'string' },
          'jwks-file': { type: 'string' },
          'jwks-uri': { type: 'string' },
          'require-signed-request-object': { type: 'boolean' },
          'require-dpop': { type: 'boolean' },
          'require-par': { type: 'boolean' },
          'token-exchange-audience': { type: 'string', multiple: true },
          'backchannel-logout-uri': { type: 'string' },
          'backchannel-logout-session-required': { type: 'boolean' },
          'client-uri': { type: 'string' },
          'policy-uri': { type: 'string' },
          'tos-uri': { type: 'string' },
        },
      }),
    );
    const name = requireOption('client create', values.name, '--name');
    const pkcePolicy = values['pkce-policy'] as PkcePolicy | undefined;
    const jwks = await readKeySet('client create', values['jwks-file']);
    const { client, clientSecret } = await withServices(async ({ clients, audit }) => {
      const created = await clients.create({
        name,
        type: values.public ? 'public' : 'confidential',
        clientId: values['client-id'],
        redirectUris: values['redirect-uri'],
        postLogoutRedirectUris: values['post-logout-redirect-uri'],
        // unknown grant types are refused by the domain with the list of allowed ones
        grantTypes: values['grant-type'] as GrantType[] | undefined,
        scopes: values.scope,
        firstParty: values['first-party'],
        // unknown values are refused by the domain with the list of allowed ones
        tokenEndpointAuthMethod: values['token-endpoint-auth-method'] as SecretAuthMethod | undefined,
        pkcePolicy,
        requestObjects: { jwks, jwksUri: values['jwks-uri'], requireSignedRequestObject: values['require-signed-request-object'] },
        backchannelLogoutUri: values['backchannel-logout-uri'],
        backchannelLogoutSessionRequired: values['backchannel-logout-session-required'],
        clientUri: values['client-uri'],
        policyUri: values['policy-uri'],
        tosUri: values['tos-uri'],
        dpopBoundAccessTokens: values['require-dpop'],
        requirePushedAuthorizationRequests: values['require-par'],
        tokenExchangeAudiences: values['token-exchange-audience'],
      });
      await audit.record({ type: 'client.created', clientId: created.client.clientId, details: { via: 'cli', pkcePolicy: created.client.pkcePolicy } });
      return created;
    });
    if (values.json) {
      writeJson(io.stdout, clientSecret === undefined ? client : { ...client, clientSecret });
      if (clientSecret !== undefined) io.stderr.write(`${SECRET_NOTE}\n`);
      return;
    }
    const fields = clientFields(client);
    if (clientSecret !== undefined) fields.push(['client secret', clientSecret]);
    io.stdout.write(formatFields(fields));
    if (clientSecret !== undefined) io.stdout.write(`\n${SECRET_NOTE}\n`);
  },
};

const list: Command = {
  summary: 'list registered applications',
  usage: `Usage: postern client list [--json]

Lists registered applications, oldest first. Secrets are never shown. REGISTERED BY is
"itself" for applications that registered at the registration endpoint (RFC 7591).
`,
  async run(args, { io }) {
    const { values } = parseOrUsage('client list', () => parseArgs({ args, strict: true, options: COMMON_OPTIONS }));
    const all = await withServices(({ clients }) => clients.list());
    if (values.json) return writeJson(io.stdout, all);
    if (all.length === 0) return void io.stdout.write('no clients\n');
    io.stdout.write(
      formatTable(
        ['CLIENT ID', 'NAME', 'TYPE', 'FIRST PARTY', 'REGISTERED BY', 'GRANT TYPES', 'REDIRECT URIS'],
        all.map((c) => [c.clientId, c.name, c.type, yesNo(c.firstParty), c.dynamic ? 'itself' : 'operator', listOf(c.grantTypes), listOf(c.redirectUris)]),
      ),
    );
  },
};

const show: Command = {
  summary: "show one application's registration",
  usage: `Usage: postern client show CLIENT_ID [--json]

Shows one application's registration, with the roles it holds for the tokens it gets for
itself (client credentials). The secret is never shown again.
`,
  async run(args, { io }) {
    const { values, positionals } = parseOrUsage('client show', () =>
      parseArgs({ args, strict: true, allowPositionals: true, options: COMMON_OPTIONS }),
    );
    const clientId = onePositional('client show', positionals, 'CLIENT_ID');
    const { client, roles } = await withServices(async (services) => ({
      client: await services.clients.get(clientId),
      roles: (await services.roles.clientPermissionsFor(clientId)).names,
    }));
    if (values.json) return writeJson(io.stdout, { ...client, roles });
    io.stdout.write(formatFields(clientFields(client, roles)));
  },
};

const pkce: Command = {
  summary: "set whether an application may leave PKCE out of requests that carry a nonce",
  usage: `Usage: postern client pkce CLIENT_ID POLICY [--json]

POLICY is one of:
  required        every authorization request carries PKCE (S256); the default
  nonce_instead   a request that asks for openid and carries a nonce may leave PKCE out

nonce_instead is for confidential clients that cannot send PKCE (some OpenID Connect relying
party modules, conformance test runs): the code is still bound to the client by its
authentication at the token endpoint, and the ID token to the request by the nonce (OpenID
Connect Core 15.5.2). Requests without a nonce still need PKCE. Public clients always use
PKCE. The change is an audit event (client.pkce_policy_changed).
`,
  async run(args, { io }) {
    const { values, positionals } = parseOrUsage('client pkce', () =>
      parseArgs({ args, strict: true, allowPositionals: true, options: COMMON_OPTIONS }),
    );
    if (positionals.length !== 2) throw new UsageError('client pkce: give CLIENT_ID and POLICY');
    const [clientId, policy] = positionals as [string, string];
    if (!PKCE_POLICIES.includes(policy as PkcePolicy)) throw new UsageError(`client pkce: POLICY is one of ${PKCE_POLICIES.join(', ')}`);
    const client = await withServices(async ({ clients, audit }) => {
      const updated = await clients.setPkcePolicy(clientId, policy as PkcePolicy);
      await audit.record({ type: 'client.pkce_policy_changed', clientId, details: { via: 'cli', pkcePolicy: updated.pkcePolicy } });
      return updated;
    });
    if (values.json) return writeJson(io.stdout, client);
    io.stdout.write(formatFields(clientFields(client)));
  },
};

const requestObjects: Command = {
  summary: "set an application's public keys and whether it must sign its authorization requests",
  usage: `Usage: postern client request-objects CLIENT_ID [options]

A client may send its authorization request as a signed JWT (the request parameter, OpenID
Connect Core 6.1 / RFC 9101), checked against its public keys: RS256, PS256 or ES256.

Options:
  --jwks-file PATH   register these public keys (a JSON Web Key Set; private keys are refused)
  --jwks-uri URL     fetch the keys from this https URL instead
  --no-keys          remove the registered keys or URL
  --required         every authorization request must be a signed request object
  --optional         plain requests are accepted too (the default)
  --json             print JSON
`,
  async run(args, { io }) {
    const { values, positionals } = parseOrUsage('client request-objects', () =>
      parseArgs({
        args,
        strict: true,
        allowPositionals: true,
        options: { ...COMMON_OPTIONS, 'jwks-file': { type: 'string' }, 'jwks-uri': { type: 'string' }, 'no-keys': { type: 'boolean' }, required: { type: 'boolean' }, optional: { type: 'boolean' } },
      }),
    );
    const clientId = onePositional('client request-objects', positionals, 'CLIENT_ID');
    if (values.required && values.optional) throw new UsageError('client request-objects: --required or --optional, not both');
    const jwks = await readKeySet('client request-objects', values['jwks-file']);
    const client = await withServices(async ({ clients, audit }) => {
      const updated = await clients.setRequestObjects(clientId, {
        jwks: values['no-keys'] ? null : jwks,
        jwksUri: values['no-keys'] ? null : values['jwks-uri'],
        requireSignedRequestObject: values.required ? true : values.optional ? false : undefined,
      });
      await audit.record({ type: 'client.request_objects_changed', clientId, details: { via: 'cli', required: updated.requireSignedRequestObject, jwksUri: updated.jwksUri ?? null, registeredKeys: updated.registeredKeys } });
      return updated;
    });
    if (values.json) return writeJson(io.stdout, client);
    io.stdout.write(formatFields(clientFields(client)));
  },
};

const grantTypes: Command = {
  summary: 'set the grant types an application may use',
  usage: `Usage: postern client grant-types CLIENT_ID TYPE... [--json]

Replaces the application's grant types with the ones given. TYPE is one of
${GRANT_TYPES.map((type) => `  ${type}`).join('\n')}

urn:ietf:params:oauth:grant-type:device_code lets a device without a browser (a TV, a
command-line tool) have a person approve it at /device (RFC 8628); Postern serves it when
POSTERN_DEVICE_FLOW is on. refresh_token needs authorization_code or the device grant, and
authorization_code a redirect URI. The change is an audit event (client.updated).
`,
  async run(args, { io }) {
    const { values, positionals } = parseOrUsage('client grant-types', () =>
      parseArgs({ args, strict: true, allowPositionals: true, options: COMMON_OPTIONS }),
    );
    const [clientId, ...types] = positionals;
    if (!clientId || types.length === 0) throw new UsageError('client grant-types: give CLIENT_ID and at least one TYPE');
    const client = await withServices(async ({ clients, audit }) => {
      // unknown grant types are refused by the domain with the list of allowed ones
      const updated = await clients.update(clientId, { grantTypes: types as GrantType[] });
      await audit.record({ type: 'client.updated', clientId, details: { via: 'cli', grantTypes: updated.grantTypes } });
      return updated;
    });
    if (values.json) return writeJson(io.stdout, client);
    io.stdout.write(formatFields(clientFields(client)));
  },
};

const update: Command = {
  summary: "change an application's links, logo, Back-Channel Logout registration, DPoP or PAR requirement",
  usage: `Usage: postern client update CLIENT_ID [options]

Changes how the application presents itself on the sign-in and consent pages, where it is told
that a session it had ended (OpenID Connect Back-Channel Logout; sessions that end from then on
are told at the new URI), and whether it must use DPoP or pushed authorization requests.
Settings not given stay as they are, except that a new Back-Channel Logout URI replaces the
whole registration.

Options:
  --client-uri URL                 its home page, linked from its name (https; http for
                                   localhost only)
  --policy-uri URL                 its privacy policy ("Privacy policy" on the pages)
  --tos-uri URL                    its terms of service ("Terms of service" on the pages)
  --no-client-uri, --no-policy-uri, --no-tos-uri
                                   remove that link
  --logo-file PATH                 store this PNG, JPEG or WebP image (at most 256 KiB; SVG is
                                   refused) as its logo; Postern serves it from its own origin
  --no-logo                        remove the logo
  --backchannel-logout-uri URI     register or replace the Back-Channel Logout URI (https; http
                                   for localhost only); the whole registration is replaced
  --backchannel-logout-session-required
                                   the application needs sid in logout tokens (always sent)
  --no-backchannel-logout          remove the URI: the application is no longer told
  --dpop required|optional         required: every token request carries a DPoP proof (RFC 9449)
                                   and its tokens are bound to that key (dpop_bound_access_tokens)
  --par required|optional          required: authorization requests only pushed first (RFC 9126,
                                   require_pushed_authorization_requests)
  --token-exchange-audience URI    replaces the APIs it may exchange a user's access token for
                                   (RFC 8693; repeat for several)
  --no-token-exchange              it may not exchange tokens any more
  --json                           print JSON instead of text
`,
  async run(args, { io }) {
    const { values, positionals } = parseOrUsage('client update', () =>
      parseArgs({
        args,
        strict: true,
        allowPositionals: true,
        options: {
          ...COMMON_OPTIONS,
          'backchannel-logout-uri': { type: 'string' },
          'backchannel-logout-session-required': { type: 'boolean' },
          'no-backchannel-logout': { type: 'boolean' },
          'client-uri': { type: 'string' },
          'policy-uri': { type: 'string' },
          'tos-uri': { type: 'string' },
          'no-client-uri': { type: 'boolean' },
          'no-policy-uri': { type: 'boolean' },
          'no-tos-uri': { type: 'boolean' },
          'logo-file': { type: 'string' },
          'no-logo': { type: 'boolean' },
          dpop: { type: 'string' },
          par: { type: 'string' },
          'token-exchange-audience': { type: 'string', multiple: true },
          'no-token-exchange': { type: 'boolean' },
        },
      }),
    );
    const clientId = onePositional('client update', positionals, 'CLIENT_ID');
    const uri = values['backchannel-logout-uri'];
    const remove = values['no-backchannel-logout'] === true;
    const dpop = requirement('--dpop', values.dpop);
    const par = requirement('--par', values.par);
    if (uri !== undefined && remove) throw new UsageError('client update: give --backchannel-logout-uri or --no-backchannel-logout, not both');
    const audiences = values['no-token-exchange'] ? [] : values['token-exchange-audience'];
    if (values['no-token-exchange'] && values['token-exchange-audience']) throw new UsageError('client update: give --token-exchange-audience or --no-token-exchange, not both');
    const links: ClientChanges = {};
    for (const [option, field] of [['client-uri', 'clientUri'], ['policy-uri', 'policyUri'], ['tos-uri', 'tosUri']] as const) {
      const value = values[option];
      if (value !== undefined && values[`no-${option}`]) throw new UsageError(`client update: give --${option} or --no-${option}, not both`);
      if (value !== undefined) links[field] = value;
      else if (values[`no-${option}`]) links[field] = null;
    }
    if (values['logo-file'] !== undefined && values['no-logo']) throw new UsageError('client update: give --logo-file or --no-logo, not both');
    const logo = await readLogo('client update', values['logo-file']);
    const backchannel = uri !== undefined || remove;
    const requirements = dpop !== undefined || par !== undefined || audiences !== undefined;
    if (!backchannel && !requirements && Object.keys(links).length === 0 && !logo && !values['no-logo']) {
      throw new UsageError('client update: nothing to change (see postern client update --help)');
    }
    if (uri === undefined && !remove && values['backchannel-logout-session-required']) {
      throw new UsageError('client update: --backchannel-logout-session-required goes with --backchannel-logout-uri');
    }
    const client = await withServices(async ({ clients, audit }) => {
      // checked before anything is written: a refused link or image leaves everything as it was
      for (const [field, key] of Object.entries(CLIENT_LINK_FIELDS) as Array<[keyof typeof CLIENT_LINK_FIELDS, string]>) checkedLink(links[field], key);
      if (logo) checkedLogo(logo, undefined);
      if (backchannel) await clients.setBackchannelLogout(clientId, { uri: remove ? null : uri!, sessionRequired: values['backchannel-logout-session-required'] });
      if (requirements || Object.keys(links).length > 0) {
        await clients.update(clientId, { ...links, dpopBoundAccessTokens: dpop, requirePushedAuthorizationRequests: par, tokenExchangeAudiences: audiences });
      }
      if (logo) await clients.setLogo(clientId, logo);
      else if (values['no-logo']) await clients.removeLogo(clientId);
      const updated = await clients.get(clientId);
      const fields = [...Object.keys(links), ...(logo || values['no-logo'] ? ['logo'] : [])];
      await audit.record({
        type: 'client.updated',
        clientId,
        details: {
          via: 'cli',
          ...(fields.length > 0 ? { fields } : {}),
          backchannelLogoutUri: updated.backchannelLogoutUri,
          dpopBoundAccessTokens: updated.dpopBoundAccessTokens,
          requirePushedAuthorizationRequests: updated.requirePushedAuthorizationRequests,
          tokenExchangeAudiences: updated.tokenExchangeAudiences,
        },
      });
      return updated;
    });
    if (values.json) return writeJson(io.stdout, client);
    io.stdout.write(formatFields(clientFields(client)));
  },
};

const remove: Command = {
  summary: 'delete an application and the grants and refresh tokens issued to it',
  usage: `Usage: postern client delete CLIENT_ID [--json]

Deletes an application, with every grant and refresh token issued to it. JWT access tokens
already issued still verify offline (against the JWKS) until they expire.
`,
  async run(args, { io }) {
    const { values, positionals } = parseOrUsage('client delete', () =>
      parseArgs({ args, strict: true, allowPositionals: true, options: COMMON_OPTIONS }),
    );
    const clientId = onePositional('client delete', positionals, 'CLIENT_ID');
    await withServices(async ({ clients, audit }) => {
      // looked up first: knex-pglite 0.14 answers delete() with a result object, not a count, so
      // Clients.delete cannot report a missing client on embedded PGlite
      await clients.get(clientId);
      await clients.delete(clientId);
      await audit.record({ type: 'client.deleted', clientId, details: { via: 'cli' } });
    });
    if (values.json) return writeJson(io.stdout, { deleted: true, clientId });
    io.stdout.write(`deleted client ${clientId}\n`);
  },
};

export const clientCommands: CommandGroup = {
  summary: 'applications that sign users in or get tokens for themselves',
  commands: { create, list, show, update, 'grant-types': grantTypes, pkce, 'request-objects': requestObjects, delete: remove },
};
