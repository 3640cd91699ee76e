/**
 * OAuth 2.0 Token Exchange (RFC 8693), for one case: an API — a confidential client — that was
 * called with a user's access token exchanges it for an access token to call another API on the
 * same user's behalf. The new token is:
 * - for one registered API the client's metadata lists (`token_exchange_audiences`), named by
 *   `resource` or `audience`, and nothing else (an RFC 9068 JWT with that audience);
 * - for the subject token's user, with scopes no broader than the subject token's, and only those
 *   the target API defines and — for a roles API — the user's roles give;
 * - marked with `act: { sub: <the exchanging client> }` (§4.1);
 * - no longer lived than the subject token, under a grant of its own (client, user), so
 *   introspection and revocation work on it as on any token.
 * The subject token must be live (not expired, revoked or of a revoked grant, its user enabled)
 * and presented by a client entitled to it: its own client, or one its API names as an
 * introspector (the API it was sent to). A DPoP-bound subject token is exchanged only with a
 * proof of its key; a proof with the request binds the new token to that key.
 * Not supported: actor tokens, and any token type but access tokens (in and out).
 */
import { errors, type Configuration, type KoaContextWithOIDC, type Provider } from 'oidc-provider';
import { validateAccount, type GrantHelpers } from '../engine-internals.ts';
import { EXCHANGED_GTY, TOKEN_EXCHANGE_AUDIENCES, TOKEN_EXCHANGE_GRANT } from '../configuration/token-exchange-policy.ts';

type ResourceIndicators = NonNullable<NonNullable<Configuration['features']>['resourceIndicators']>;
type AllowedPolicy = NonNullable<NonNullable<NonNullable<Configuration['features']>['introspection']>['allowedPolicy']>;
type AccessToken = InstanceType<Provider['AccessToken']>;

const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

export const grantType = TOKEN_EXCHANGE_GRANT;
export const parameters = ['subject_token', 'subject_token_type', 'requested_token_type', 'resource', 'audience', 'scope', 'actor_token', 'actor_token_type'];

export interface TokenExchangeDependencies {
  helpers: GrantHelpers;
  /** the id an access token is stored under (see jwt-access-tokens.ts) */
  recordIdOf(token: string): Promise<string | undefined>;
  getResourceServerInfo: NonNullable<ResourceIndicators['getResourceServerInfo']>;
  /** whether a client may learn about a token: the same answer as at introspection */
  mayPresent: AllowedPolicy;
}

function epochSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function single(params: Record<string, unknown>, name: string): string | undefined {
  const value = params[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new errors.InvalidRequest(`${name} must be given once`);
  return value;
}

/** The API the new token is for: `resource` and `audience` name the same thing here. */
function targetOf(params: Record<string, unknown>): string {
  const resource = single(params, 'resource');
  const audience = single(params, 'audience');
  if (resource && audience && resource !== audience) throw new errors.InvalidTarget('resource and audience name different APIs');
  const target = resource ?? audience;
  if (!target) throw new errors.InvalidTarget('name the API the token is for with resource or audience');
  return target;
}

export function tokenExchangeHandler(provider: Provider, deps: TokenExchangeDependencies) {
  async function liveSubject(ctx: KoaContextWithOIDC, value: string): Promise<AccessToken> {
    const id = await deps.recordIdOf(value);
    const subject = id === undefined ? undefined : await provider.AccessToken.find(id);
    if (!subject?.isValid || !subject.accountId || !subject.grantId) throw new errors.InvalidGrant('subject token is invalid, expired or revoked');
    const grant = await provider.Grant.find(subject.grantId);
    if (!grant || grant.clientId !== subject.clientId || grant.accountId !== subject.accountId) throw new errors.InvalidGrant('subject token is invalid, expired or revoked');
    if (!(await deps.mayPresent(ctx, ctx.oidc.client!, subject))) throw new errors.InvalidGrant('subject token was neither issued to this client nor for an API it serves');
    return subject;
  }

  return async function handleTokenExchange(ctx: KoaContextWithOIDC): Promise<void> {
    const client = ctx.oidc.client!;
    const params = ctx.oidc.params as Record<string, unknown>;
    if (client.clientAuthMethod === 'none') throw new errors.UnauthorizedClient('token exchange is for confidential clients');
    const subjectToken = single(params, 'subject_token');
    if (!subjectToken) throw new errors.InvalidRequest("missing required parameter 'subject_token'");
    if (single(params, 'subject_token_type') !== ACCESS_TOKEN_TYPE) throw new errors.InvalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE}`);
    const requestedType = single(params, 'requested_token_type');
    if (requestedType !== undefined && requestedType !== ACCESS_TOKEN_TYPE) throw new errors.InvalidRequest(`requested_token_type must be ${ACCESS_TOKEN_TYPE}`);
    if (params.actor_token !== undefined || params.actor_token_type !== undefined) throw new errors.InvalidRequest('actor_token is not supported: the authenticated client is the actor');

    const target = targetOf(params);
    const allowed = (client.metadata()[TOKEN_EXCHANGE_AUDIENCES] as string[] | undefined) ?? [];
    if (!allowed.includes(target)) throw new errors.InvalidTarget('this client may not exchange tokens for that API');

    const dPoP = await deps.helpers.validateDpop(ctx);
    const subject = await liveSubject(ctx, subjectToken);
    if (subject.jkt && subject.jkt !== dPoP?.thumbprint) throw new errors.InvalidGrant('subject token is DPoP-bound: the exchange needs a proof of its key');
    const account = await validateAccount(provider, ctx, subject, 'subject token');
    ctx.oidc.entity('Account', account);

    const info = await deps.getResourceServerInfo(ctx, target, client);
    const resourceServer = new provider.ResourceServer(target, info);
    const held = new Set(subject.scopes);
    const requested = single(params, 'scope')?.split(' ').filter(Boolean);
    const broader = (requested ?? []).filter((scope) => !held.has(scope));
    if (broader.length > 0) throw new errors.InvalidScope('requested scope is broader than the subject token\'s', broader.join(' '));
    const offered = resourceServer.scopes;
    const unavailable = (requested ?? []).filter((scope) => !offered.has(scope));
    if (unavailable.length > 0) throw new errors.InvalidScope('requested scope is not available on that API', unavailable.join(' '));
    const scope = (requested ?? [...held].filter((name) => offered.has(name))).join(' ');
    if (!scope) throw new errors.InvalidScope('the subject token carries no scope of that API', '');

    const grant = new provider.Grant({ accountId: account.accountId, clientId: client.clientId });
    grant.addResourceScope(target, scope);
    const token = new provider.AccessToken({ accountId: account.accountId, client, grantId: '', gty: EXCHANGED_GTY, scope });
    token.resourceServer = resourceServer;
    // never outlives the token it was exchanged for; its grant lives as long as it does
    const lifetime = Math.max(1, Math.min(token.expiration, (subject.exp ?? 0) - epochSeconds()));
    Object.assign(token, { expiresIn: lifetime });
    Object.assign(grant, { expiresIn: lifetime });
    token.grantId = await grant.save();

    if (dPoP) {
      await deps.helpers.checkDpopReplay(ctx, dPoP, client.clientId, errors.InvalidGrant);
      token.setThumbprint('jkt', dPoP.thumbprint);
    }
    deps.helpers.checkDpopRequired(ctx, dPoP);
    ctx.oidc.entity('AccessToken', token);
    const value = await token.save();
    ctx.body = {
      access_token: value,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: token.tokenType,
      expires_in: token.expiration,
      scope,
    };
  };
}
