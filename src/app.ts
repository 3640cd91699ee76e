import Koa from 'koa';
import type { JWK } from 'jose';
import type { Config } from './config.ts';
import { allowedMethods } from './http/allowed-methods.ts';
import { compression } from './http/compression.ts';
import { identityRequestEncoding } from './http/request-encoding.ts';
import { errorHandler } from './http/error-handler.ts';
import { closeConnectionsWhileDraining, healthEndpoints, type Readiness } from './http/health.ts';
import { metricsEndpoint } from './http/metrics-endpoint.ts';
import { issuerHost } from './http/issuer-host.ts';
import { rateLimit } from './http/rate-limit.ts';
import { requestContext } from './http/request-context.ts';
import { securityHeaders } from './http/security-headers.ts';
import { staticAssets } from './http/static-assets.ts';
import { WEBAUTHN_BROWSER_BUNDLE } from './http/webauthn-bundle.ts';
import { brandAssets } from './http/brand-assets.ts';
import { clientLogos } from './http/client-logos.ts';
import { createBrand } from './brand/page-brand.ts';
import { accountRouter } from './account/router.ts';
import { interactionRouter } from './interactions/router.ts';
import { PASSWORD_RESET_PATH, REGISTRATION_PATH } from './interactions/paths.ts';
import { createViews, VIEWS_DIR } from './interactions/views.ts';
import { DEFAULT_LANGUAGE } from './pages/language/languages.ts';
import { translatorFor } from './pages/language/translator.ts';
import { language } from './http/language.ts';
import { languageSwitch } from './http/language-switch.ts';
import type { Logger } from './logger.ts';
import { createJwtShadow } from './oidc/jwt-access-tokens.ts';
import { introspectionAccountCheck } from './oidc/introspection-account-check.ts';
import { introspectionCurrentRoles } from './oidc/introspection-current-roles.ts';
import { createEntitlementsLookup } from './oidc/entitlements.ts';
import { createProvider } from './oidc/provider.ts';
import { SwappableEngine } from './oidc/engine-swap.ts';
import { createKeyMaintenance, type KeyMaintenance } from './oidc/signing-key-reload.ts';
import { rekeyLegacyTokens } from './oidc/adapter/rekey-legacy-tokens.ts';
import { createTokenIds } from './oidc/adapter/token-ids.ts';
import { engineBodyLimit } from './oidc/engine-body-limit.ts';
import { engineRouteFallback } from './oidc/route-fallback.ts';
import { issuerPathMetadata } from './oidc/issuer-path-metadata.ts';
import { pagesPreferHtml } from './oidc/page-accept.ts';
import { postAsGet } from './oidc/post-as-get.ts';
import { nameClientAfterSignOut } from './oidc/sign-out-outcome.ts';
import { subscribeProviderEvents } from './oidc/events.ts';
import { DeviceCodeGuard } from './domain/device-code-guard.ts';
import { auditDeviceAnswers } from './oidc/device-flow/audit.ts';
import { guardUserCodes } from './http/device-code-guard.ts';
import { prefillUserCode } from './oidc/device-flow/prefill.ts';
import { AccountSessions } from './oidc/account-sessions.ts';
import { trackSessionDevices } from './oidc/session-devices.ts';
import { auditProviderEvents } from './oidc/audit-events.ts';
import { registrationBody } from './oidc/registration/registration-body.ts';
import { registrationEvents } from './oidc/registration/registration-events.ts';
import { refundRefusedRegistrations } from './oidc/registration/initial-access-token-store.ts';
import { engineRouteKey } from './oidc/engine-path.ts';
import { countProviderEvents } from './oidc/metrics-events.ts';
import { enableMetrics, watchSigningKeyActivation } from './metrics/index.ts';
import { probedReadiness } from './readiness.ts';
import { createMailer } from './mail/mailer.ts';
import { createPasswordReset, recoveryRouter } from './recovery/router.ts';
import { adminApi } from './admin/router.ts';
import { createLogoutTokenSigner } from './backchannel/logout-token.ts';
import { LogoutDeliveryWorker } from './backchannel/worker.ts';
import { countLogoutDelivery, type LogoutDeliveryOutcome } from './metrics/index.ts';
import type { Services, Storage } from './services.ts';
import { join } from 'node:path';

export interface PosternApp {
  app: Koa;
  /** the protocol engine, rebuilt when the signing keys change */
  engine: SwappableEngine;
  /** keeps the engine on the stored keys; `start()` once listening, `stop()` when closing */
  keyMaintenance: KeyMaintenance;
  readiness: Readiness;
  /** delivers queued Back-Channel Logout notices once started; emits `outcome` per attempt */
  logoutWorker: LogoutDeliveryWorker;
}

/** Builds the HTTP application: our edge middleware and pages in front of the protocol engine. */
export async function createApp(config: Readonly<Config>, storage: Storage, services: Services, logger: Logger): Promise<PosternApp> {
  // the first start makes the keys; a start past the rotation interval rotates
  await services.signingKeys.checkSchedule();
  const initialJwks = await services.signingKeys.privateJwks();
  const cookieKeys = config.cookieKeys.length > 0 ? config.cookieKeys : [storage.envelope.derive('cookie-key').toString('base64url')];
  const brand = createBrand(config.brand);
  const views = createViews({ cache: config.mode !== 'development', brand: brand.page });
  const jwtShadow = createJwtShadow({
    issuer: config.issuer,
    hmacKey: storage.envelope.derive('jwt-shadow-id'),
    publicJwks: () => engine.publicJwks,
  });

  const tokenIds = createTokenIds(storage.envelope.derive('token-ids'));
  const moved = await rekeyLegacyTokens(storage.db, tokenIds);
  if (moved > 0) logger.info({ moved }, 'stored tokens moved to hashed ids');
  // ephemeral tokens from before hashing live at most this long; until then they are looked for too
  const legacyUntil = Date.now() + Math.max(config.ttl.accessToken, config.ttl.clientCredentials) * 1000;

  const entitlements = createEntitlementsLookup(services.roles);
  const refreshTokenSuccessorKey = storage.envelope.derive('refresh-token-successor');
  const dpopNonceSecret = storage.envelope.derive('dpop-nonce', 32);
  const accountSessions = new AccountSessions(storage.db, () => engine.provider, services.accounts, services.logoutDeliveries);
  const build = (signingKeys: JWK[]) => {
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
      refreshTokenSuccessorKey,
      dpopNonceSecret,
      tokenIds,
      ephemeralLegacyReads: () => Date.now() < legacyUntil,
      logoutDeliveries: services.logoutDeliveries,
      initialAccessTokens: services.initialAccessTokens,
    });
    subscribeProviderEvents(provider, logger);
    trackSessionDevices(provider, accountSessions, logger);
    auditProviderEvents(provider, services.audit, logger);
    registrationEvents(provider, { mode: config.clientRegistration.mode, audit: services.audit, clients: services.clients, logger });
    countProviderEvents(provider);
    return provider;
  };
  const engine = new SwappableEngine(build(initialJwks), initialJwks);
  const keyMaintenance = createKeyMaintenance({
    signingKeys: services.signingKeys,
    engine,
    build,
    processCaches: storage.processCaches,
    checkIntervalSeconds: config.signingKeys.checkIntervalSeconds,
    logger,
  });
  const mailer = createMailer(config.mail, config.mode, logger);
  const logoutWorker = new LogoutDeliveryWorker({
    deliveries: services.logoutDeliveries,
    audit: services.audit,
    // signed when sent, with the key current then
    sign: createLogoutTokenSigner(config.issuer, async () => (await services.signingKeys.privateJwks())[0]!),
    retry: config.backchannelLogout,
    logger,
  });
  logoutWorker.on('outcome', ({ outcome }: { outcome: LogoutDeliveryOutcome }) => countLogoutDelivery(outcome));

  const readiness = probedReadiness({
    currentKey: () => services.signingKeys.current(),
    pingKv: () => storage.kv.ping(),
    engineKids: () => engine.publicJwks.map((jwk) => jwk.kid!),
  });
  watchSigningKeyActivation(async () => (await readiness.currentKey())?.activatedAt ?? undefined);
  const app = new Koa({ proxy: config.trustProxy, keys: cookieKeys });
  app.silent = true;
  // behind a proxy, the client address is the one entry the proxy appended, not one a client wrote
  if (config.trustProxy) app.maxIpsCount = 1;
  app.use(healthEndpoints(readiness));
  if (config.observability.metricsToken) app.use(metricsEndpoint(await enableMetrics(), config.observability.metricsToken));
  app.use(issuerHost(config.issuer));
  app.use(requestContext(logger));
  app.use(closeConnectionsWhileDraining(readiness));
  app.use(securityHeaders({ hsts: config.issuer.startsWith('https:') }));
  app.use(compression());
  app.use(language());
  app.use(rateLimit({ kv: storage.kv, limits: config.security.rateLimits, views }));
  app.use(errorHandler(views));
  const recoveryDependencies = {
    config,
    db: storage.db,
    accounts: services.accounts,
    audit: services.audit,
    mailer,
    endSessions: (accountId: string) => accountSessions.endAll(accountId, 'password_reset'),
    views,
    provider: () => engine.provider,
  };
  const passwordReset = createPasswordReset(recoveryDependencies);
  // before allowedMethods: the admin API serves PUT, PATCH and DELETE, and answers problem+json
  app.use(adminApi({
    issuer: config.issuer,
    publicJwks: () => engine.publicJwks,
    services,
    sessions: accountSessions,
    // an administrator's request has no reader's language: the default one
    sendPasswordReset: (email, origin) => passwordReset.request(email, origin, translatorFor(DEFAULT_LANGUAGE)),
  }));
  // the registration management endpoint (RFC 7592) reads, replaces and deletes at /reg/<client_id>
  const managementPrefix = `${engineRouteKey('/reg')}/`;
  app.use(allowedMethods(config.clientRegistration.mode === 'off' ? undefined : (method, path) => (method === 'PUT' || method === 'DELETE') && engineRouteKey(path).startsWith(managementPrefix)));
  app.use(identityRequestEncoding());
  app.use(staticAssets(join(VIEWS_DIR, 'static'), ['style.css', 'passkeys.js', { name: 'webauthn.js', path: WEBAUTHN_BROWSER_BUNDLE }]));
  app.use(brandAssets(brand.assets));
  app.use(clientLogos(services.clients));
  app.use(languageSwitch());
  const interactions = interactionRouter({
    provider: () => engine.provider,
    accounts: services.accounts,
    resourceServers: services.resourceServers,
    audit: services.audit,
    views,
    throttle: services.throttle,
    devices: services.trustedDevices,
    totp: services.totp,
    recoveryCodes: services.recoveryCodes,
    passkeys: services.passkeys,
    kv: storage.kv,
    issuer: config.issuer,
    links: { reset: PASSWORD_RESET_PATH, register: config.security.registration ? REGISTRATION_PATH : undefined },
  });
  app.use(interactions.routes());
  app.use(interactions.allowedMethods());
  const account = await accountRouter({
    provider: () => engine.provider,
    issuer: config.issuer,
    passwordMinLength: config.security.passwordMinLength,
    services,
    sessions: accountSessions,
    views,
    logger,
  });
  app.use(account.routes());
  app.use(account.allowedMethods());
  const recovery = recoveryRouter(recoveryDependencies);
  app.use(recovery.routes());
  app.use(recovery.allowedMethods());
  app.use(issuerPathMetadata(config.issuer));
  app.use(engineBodyLimit());
  app.use(registrationBody(config.clientRegistration.mode));
  if (config.clientRegistration.mode === 'token') app.use(refundRefusedRegistrations(services.initialAccessTokens, (method, path) => method === 'POST' && engineRouteKey(path) === engineRouteKey('/reg')));
  app.use(postAsGet());
  app.use(pagesPreferHtml());
  app.use(nameClientAfterSignOut());
  app.use(introspectionCurrentRoles(services.resourceServers, entitlements));
  app.use(introspectionAccountCheck(services.accounts));
  app.use(jwtShadow.middleware(['/token/introspection', '/token/revocation']));
  if (config.deviceFlow.enabled) {
    app.use(prefillUserCode());
    app.use(guardUserCodes(new DeviceCodeGuard(storage.kv, config.deviceFlow), services.audit, () => engine.provider));
    app.use(auditDeviceAnswers(services.audit));
  }
  // every engine serves the same routes: the first one's table holds for its successors
  app.use(engineRouteFallback(engine.provider));
  app.use(engine.middleware());
  return { app, engine, keyMaintenance, readiness, logoutWorker };
}
