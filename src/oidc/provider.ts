import { readFileSync } from 'node:fs';
import type { JWK } from 'jose';
import { Provider, type Configuration } from 'oidc-provider';
import type { Config } from '../config.ts';
import type { Accounts } from '../domain/accounts.ts';
import type { Clients } from '../domain/clients.ts';
import type { LogoutDeliveries } from '../domain/logout-deliveries.ts';
import type { ResourceServers } from '../domain/resource-servers.ts';
import type { Views } from '../interactions/views.ts';
import type { Database } from '../store/db.ts';
import type { KvStore } from '../store/kv/index.ts';
import type { RecordCache } from '../store/record-cache.ts';
import { createAdapterFactory } from './adapter/index.ts';
import { CLAIMS_BY_SCOPE, OIDC_SCOPES } from './configuration/claims.ts';
import { clientCredentialsSubject } from './configuration/client-credentials-subject.ts';
import { SCOPE_ALLOWANCE } from './configuration/client-scope-allowance.ts';
import { clientBasedCORS } from './configuration/cors.ts';
import { loadExistingGrant } from './configuration/first-party-consent.ts';
import { introspectionAllowedPolicy } from './configuration/introspection-policy.ts';
import { pagesConfiguration } from './configuration/pages.ts';
import { resourceIndicatorsConfiguration } from './configuration/resource-indicators.ts';
import { ttlConfiguration } from './configuration/ttl.ts';
import { ACR_VALUES, interactionsPolicy } from './configuration/authentication-context.ts';
import { accessTokenRoles } from './configuration/access-token-roles.ts';
import { allExtraTokenClaims } from './configuration/extra-token-claims.ts';
import type { EntitlementsLookup } from './entitlements.ts';
import { createFindAccount } from './find-account.ts';
import type { JwtShadow } from './jwt-access-tokens.ts';
import { SqlModelStore } from './adapter/sql-model-store.ts';
import type { TokenIds } from './adapter/token-ids.ts';
import { grantHelpersFor } from './engine-internals.ts';
import { parameters as refreshTokenParameters, refreshTokenHandler } from './grants/refresh-token.ts';
import { createRefreshTokenRotation } from './grants/refresh-token-rotation.ts';
import { metadataCaching } from './metadata-caching.ts';
import { PKCE_POLICY, pkceRequired, validatePkcePolicy } from './configuration/pkce-policy.ts';
import { queueEngineBackchannelLogouts } from './backchannel-logout.ts';
import { deviceFlowConfiguration } from './device-flow/pages.ts';
import { enforcePollingInterval } from './grants/device-code-polling.ts';
import type { InitialAccessTokens } from '../domain/initial-access-tokens.ts';
import { registrationFeatures } from './registration/registration-features.ts';
import { registrationPolicy } from './registration/registration-policy.ts';
import { clientMetadataDocumentFeature } from './metadata-documents/client-metadata-documents.ts';
import { createDefendedFetch } from './metadata-documents/defended-fetch.ts';
import { dpopConfiguration } from './configuration/dpop.ts';
import { TOKEN_EXCHANGE_AUDIENCES, tokenExchangeActor, validateTokenExchangeAudiences } from './configuration/token-exchange-policy.ts';
import { grantType as tokenExchangeGrant, parameters as tokenExchangeParameters, tokenExchangeHandler } from './grants/token-exchange.ts';
import { pushedAuthorizationRequestsConfiguration } from './configuration/pushed-authorization-requests.ts';
import { LANGUAGES } from '../pages/language/languages.ts';

export interface ProviderDependencies {
  config: Readonly<Config>;
  db: Database;
  kv: KvStore;
  recordCache: RecordCache;
  accounts: Accounts;
  clients: Clients;
  resourceServers: ResourceServers;
  /** what users and clients may do through roles, read once per request */
  entitlements: EntitlementsLookup;
  views: Views;
  signingKeys: JWK[];
  cookieKeys: string[];
  jwtShadow: JwtShadow;
  /** derives each refresh token's successor (see refresh-token-rotation.ts) */
  refreshTokenSuccessorKey: Buffer;
  /** the DPoP nonces' secret, shared by every instance (see configuration/dpop.ts) */
  dpopNonceSecret: Buffer;
  /** token values are stored under these ids (see adapter/token-ids.ts) */
  tokenIds: TokenIds;
  /** while true, ephemeral tokens stored before values were hashed are still found */
  ephemeralLegacyReads: () => boolean;
  /** where /session/end queues its Back-Channel Logout notices */
  logoutDeliveries: LogoutDeliveries;
  initialAccessTokens: InitialAccessTokens;
}

export const INTERACTION_PATH = '/interaction';

export function buildConfiguration(deps: ProviderDependencies): Configuration {
  const pages = pagesConfiguration(deps.views);
  const documents = deps.config.clientMetadataDocuments;
  return {
    fetch: createDefendedFetch({
      allowPrivateAddresses: documents.allowPrivateAddressesForTesting,
      extraCa: documents.caFile ? readFileSync(documents.caFile, 'utf8') : undefined,
    }) as Configuration['fetch'],
    fetchResponseBodyLimits: { 'client_id metadata document': 5 * 1024, jwks_uri: 64 * 1024, sector_identifier_uri: 64 * 1024 },
    adapter: createAdapterFactory({
      db: deps.db,
      kv: deps.kv,
      recordCache: deps.recordCache,
      clients: deps.clients,
      issuer: deps.config.issuer,
      tokenIds: deps.tokenIds,
      ephemeralLegacyReads: deps.ephemeralLegacyReads,
      registration: deps.config.clientRegistration.mode === 'off' ? undefined : registrationPolicy(deps.config.clientRegistration),
      initialAccessTokens: deps.initialAccessTokens,
    }),
    findAccount: createFindAccount(deps.accounts, deps.entitlements),
    jwks: { keys: deps.signingKeys },
    claims: { ...CLAIMS_BY_SCOPE } as unknown as Configuration['claims'],
    scopes: [...OIDC_SCOPES],
    // the languages of the pages, which an authorization request may ask for with ui_locales
    discovery: { ui_locales_supported: [...LANGUAGES] },
    responseTypes: ['code'],
    pkce: { required: pkceRequired },
    rotateRefreshToken: true,
    allowOmittingSingleRegisteredRedirectUri: false,
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      id_token_signed_response_alg: 'RS256',
      token_endpoint_auth_method: 'client_secret_basic',
    },
    enabledJWA: {
      idTokenSigningAlgValues: ['RS256'],
      userinfoSigningAlgValues: ['RS256'],
      introspectionSigningAlgValues: ['RS256'],
      authorizationSigningAlgValues: ['RS256'],
      // request objects (RFC 9101) signed with the client's own public keys; never unsigned or HMAC
      requestObjectSigningAlgValues: ['RS256', 'PS256', 'ES256'],
    },
    extraClientMetadata: {
      properties: ['first_party', SCOPE_ALLOWANCE, PKCE_POLICY, TOKEN_EXCHANGE_AUDIENCES],
      validator(_ctx, key, value, metadata) {
        if (key === TOKEN_EXCHANGE_AUDIENCES) validateTokenExchangeAudiences(value);
        if (key === PKCE_POLICY) validatePkcePolicy(value, metadata as Record<string, unknown>);
        if (key === 'first_party' && value !== undefined && typeof value !== 'boolean') {
          throw new TypeError('first_party must be a boolean');
        }
        if (key === SCOPE_ALLOWANCE && value !== undefined && typeof value !== 'string') {
          throw new TypeError(`${SCOPE_ALLOWANCE} must be a string`);
        }
      },
    },
    cookies: {
      keys: deps.cookieKeys,
      long: { signed: true, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },
    ttl: ttlConfiguration(deps.config.ttl),
    interactions: { url: (_ctx, interaction) => `${INTERACTION_PATH}/${interaction.uid}`, policy: interactionsPolicy(deps.accounts) },
    acrValues: ACR_VALUES,
    loadExistingGrant,
    clientBasedCORS,
    renderError: pages.renderError,
    formats: { customizers: { jwt: deps.jwtShadow.customizer as never } },
    extraTokenClaims: allExtraTokenClaims(clientCredentialsSubject, accessTokenRoles(deps.entitlements), tokenExchangeActor),
    features: {
      devInteractions: { enabled: false },
      claimsParameter: { enabled: true },
      requestObjects: { enabled: true, requireSignedRequestObject: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: introspectionAllowedPolicy(deps.resourceServers) },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: pages.logout,
      // the engine's metadata and validation; the deliveries themselves are queued (backchannel-logout.ts)
      backchannelLogout: { enabled: true },
      resourceIndicators: resourceIndicatorsConfiguration(deps.resourceServers, deps.entitlements),
      deviceFlow: deviceFlowConfiguration(deps.views, deps.config.deviceFlow),
      ...registrationFeatures(deps.config.clientRegistration.mode),
      ...clientMetadataDocumentFeature(documents),
      dPoP: dpopConfiguration(deps.dpopNonceSecret, deps.config.protocol.dpopRequireNonce),
      pushedAuthorizationRequests: pushedAuthorizationRequestsConfiguration(deps.config.protocol.requirePar),
    },
  };
}

export function createProvider(deps: ProviderDependencies): Provider {
  const provider = new Provider(deps.config.issuer, buildConfiguration(deps));
  provider.proxy = deps.config.trustProxy;
  const rotation = createRefreshTokenRotation({
    store: new SqlModelStore(deps.db, 'RefreshToken'),
    tokenIds: deps.tokenIds,
    key: deps.refreshTokenSuccessorKey,
    reuseIntervalSeconds: deps.config.resilience.refreshReuseIntervalSeconds,
  });
  // replaces the engine's own handler; `resource` is a parameter (and may repeat) as the engine registers it
  provider.registerGrantType('refresh_token', refreshTokenHandler(provider, grantHelpersFor(provider), rotation), [...refreshTokenParameters, 'resource'], ['resource']);
  if (deps.config.deviceFlow.enabled) enforcePollingInterval(provider, deps.kv, deps.config.deviceFlow.pollIntervalSeconds);
  provider.registerGrantType(
    tokenExchangeGrant,
    tokenExchangeHandler(provider, {
      helpers: grantHelpersFor(provider),
      recordIdOf: (token) => deps.jwtShadow.recordIdOf(token),
      getResourceServerInfo: resourceIndicatorsConfiguration(deps.resourceServers, deps.entitlements).getResourceServerInfo!,
      mayPresent: introspectionAllowedPolicy(deps.resourceServers),
    }),
    tokenExchangeParameters,
  );
  provider.use(metadataCaching(deps.config.signingKeys.jwksMaxAgeSeconds));
  queueEngineBackchannelLogouts(provider, deps.logoutDeliveries);
  return provider;
}
