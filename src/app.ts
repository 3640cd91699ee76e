import Koa from 'koa';
import mount from 'koa-mount';
import type { Provider } from 'oidc-provider';
import type { Config } from './config.ts';
import { allowedMethods } from './http/allowed-methods.ts';
import { compression } from './http/compression.ts';
import { identityRequestEncoding } from './http/request-encoding.ts';
import { errorHandler } from './http/error-handler.ts';
import { closeConnectionsWhileDraining, healthEndpoints, type Readiness } from './http/health.ts';
import { issuerHost } from './http/issuer-host.ts';
import { rateLimit } from './http/rate-limit.ts';
import { requestContext } from './http/request-context.ts';
import { securityHeaders } from './http/security-headers.ts';
import { staticAssets } from './http/static-assets.ts';
import { accountRouter } from './account/router.ts';
import { interactionRouter } from './interactions/router.ts';
import { PASSWORD_RESET_PATH, REGISTRATION_PATH } from './interactions/paths.ts';
import { createViews, VIEWS_DIR } from './interactions/views.ts';
import type { Logger } from './logger.ts';
import { createJwtShadow } from './oidc/jwt-access-tokens.ts';
import { introspectionAccountCheck } from './oidc/introspection-account-check.ts';
import { introspectionCurrentRoles } from './oidc/introspection-current-roles.ts';
import { createEntitlementsLookup } from './oidc/entitlements.ts';
import { createProvider } from './oidc/provider.ts';
import { rekeyLegacyTokens } from './oidc/adapter/rekey-legacy-tokens.ts';
import { createTokenIds } from './oidc/adapter/token-ids.ts';
import { engineBodyLimit } from './oidc/engine-body-limit.ts';
import { engineRouteFallback } from './oidc/route-fallback.ts';
import { pagesPreferHtml } from './oidc/page-accept.ts';
import { postAsGet } from './oidc/post-as-get.ts';
import { nameClientAfterSignOut } from './oidc/sign-out-outcome.ts';
import { subscribeProviderEvents } from './oidc/events.ts';
import { AccountSessions } from './oidc/account-sessions.ts';
import { trackSessionDevices } from './oidc/session-devices.ts';
import { auditProviderEvents } from './oidc/audit-events.ts';
import { createMailer } from './mail/mailer.ts';
import { recoveryRouter } from './recovery/router.ts';
import type { Services, Storage } from './services.ts';
import { join } from 'node:path';

export interface PosternApp {
  app: Koa;
  provider: Provider;
  readiness: Readiness;
}

function storageReadiness(storage: Storage): Readiness {
  const reachable = (probe: Promise<unknown>) => probe.then(() => true, () => false);
  return {
    draining: false,
    async check() {
      const [database, kv] = await Promise.all([reachable(storage.db.raw('select 1')), reachable(storage.kv.ping())]);
      return { database, kv };
    },
  };
}

/** Builds the HTTP application: our edge middleware and pages in front of the protocol engine. */
export async function createApp(config: Readonly<Config>, storage: Storage, services: Services, logger: Logger): Promise<PosternApp> {
  await services.signingKeys.ensureCurrent();
  const signingKeys = await services.signingKeys.privateJwks();
  const publicJwks = signingKeys.map(({ kty, n, e, kid, alg, use }) => ({ kty, n, e, kid, alg, use }));
  const cookieKeys = config.cookieKeys.length > 0 ? config.cookieKeys : [storage.envelope.derive('cookie-key').toString('base64url')];
  const views = createViews({ cache: config.mode !== 'development' });
  const jwtShadow = createJwtShadow({
    issuer: config.issuer,
    hmacKey: storage.envelope.derive('jwt-shadow-id'),
    publicJwks: () => publicJwks,
  });

  const tokenIds = createTokenIds(storage.envelope.derive('token-ids'));
  const moved = await rekeyLegacyTokens(storage.db, tokenIds);
  if (moved > 0) logger.info({ moved }, 'stored tokens moved to hashed ids');
  // ephemeral tokens from before hashing live at most this long; until then they are looked for too
  const legacyUntil = Date.now() + Math.max(config.ttl.accessToken, config.ttl.clientCredentials) * 1000;

  const entitlements = createEntitlementsLookup(services.roles);
  const provider = createProvider({
    config,
    db: storage.db,
    kv: storage.kv,
    recordCache: storage.recordCache,
    accounts: services.accounts,
    clients: services.clients,
    resourceServers: services.resourceServers,
    entitlements,
    views,
    signingKeys,
    cookieKeys,
    jwtShadow,
    refreshTokenSuccessorKey: storage.envelope.derive('refresh-token-successor'),
    tokenIds,
    ephemeralLegacyReads: () => Date.now() < legacyUntil,
  });
  subscribeProviderEvents(provider, logger);
  const accountSessions = new AccountSessions(storage.db, () => provider, services.accounts);
  trackSessionDevices(provider, accountSessions, logger);
  auditProviderEvents(provider, services.audit, logger);
  const mailer = createMailer(config.mail, config.mode, logger);

  const readiness = storageReadiness(storage);
  const app = new Koa({ proxy: config.trustProxy, keys: cookieKeys });
  app.silent = true;
  // behind a proxy, the client address is the one entry the proxy appended, not one a client wrote
  if (config.trustProxy) app.maxIpsCount = 1;
  app.use(healthEndpoints(readiness));
  app.use(issuerHost(config.issuer));
  app.use(requestContext(logger));
  app.use(closeConnectionsWhileDraining(readiness));
  app.use(securityHeaders({ hsts: config.issuer.startsWith('https:') }));
  app.use(compression());
  app.use(rateLimit({ kv: storage.kv, limits: config.security.rateLimits, views }));
  app.use(errorHandler(views));
  app.use(allowedMethods());
  app.use(identityRequestEncoding());
  app.use(staticAssets(join(VIEWS_DIR, 'static'), ['style.css']));
  const interactions = interactionRouter({
    provider: () => provider,
    accounts: services.accounts,
    resourceServers: services.resourceServers,
    audit: services.audit,
    views,
    throttle: services.throttle,
    devices: services.trustedDevices,
    totp: services.totp,
    recoveryCodes: services.recoveryCodes,
    kv: storage.kv,
    links: { reset: PASSWORD_RESET_PATH, register: config.security.registration ? REGISTRATION_PATH : undefined },
  });
  app.use(interactions.routes());
  app.use(interactions.allowedMethods());
  const account = await accountRouter({
    provider: () => provider,
    issuer: config.issuer,
    passwordMinLength: config.security.passwordMinLength,
    services,
    sessions: accountSessions,
    views,
    logger,
  });
  app.use(account.routes());
  app.use(account.allowedMethods());
  const recovery = recoveryRouter({
    config,
    db: storage.db,
    accounts: services.accounts,
    audit: services.audit,
    mailer,
    endSessions: (accountId) => accountSessions.endAll(accountId),
    views,
    provider: () => provider,
  });
  app.use(recovery.routes());
  app.use(recovery.allowedMethods());
  app.use(engineBodyLimit());
  app.use(postAsGet());
  app.use(pagesPreferHtml());
  app.use(nameClientAfterSignOut());
  app.use(introspectionCurrentRoles(services.resourceServers, entitlements));
  app.use(introspectionAccountCheck(services.accounts));
  app.use(jwtShadow.middleware(['/token/introspection', '/token/revocation']));
  app.use(engineRouteFallback(provider));
  app.use(mount(provider));
  return { app, provider, readiness };
}
