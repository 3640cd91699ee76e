import type { KoaContextWithOIDC } from 'oidc-provider';

/** The engine's routes where a person answers a device (the code page, and the return from sign-in and consent). */
const DEVICE_ROUTES = new Set(['code_verification', 'device_resume']);

/**
 * `loadExistingGrant`: the engine's default, plus an automatic grant for first-party clients so
 * that they skip the consent page (oidc-provider's documented "skip consent" recipe). A first-party
 * client's grant is also topped up with what it asks for now: scopes that roles given since the
 * last sign-in allow would otherwise bring up the consent page.
 */
export async function loadExistingGrant(ctx: KoaContextWithOIDC) {
  const { client, session, params, provider } = ctx.oidc;
  if (!client || !session?.accountId) return undefined;
  // a device always asks (RFC 8628 §5.4, remote phishing): only the consent given in this very
  // interaction counts, never an earlier one and never first-party standing
  if (DEVICE_ROUTES.has(ctx.oidc.route)) {
    const given = ctx.oidc.result?.consent?.grantId;
    return given ? provider.Grant.find(given) : undefined;
  }
  const grantId = ctx.oidc.result?.consent?.grantId ?? session.grantIdFor(client.clientId);
  const existing = grantId ? await provider.Grant.find(grantId) : undefined;
  if (client.metadata().first_party !== true) return existing;

  const grant = existing ?? new provider.Grant({ clientId: client.clientId, accountId: session.accountId });
  const before = JSON.stringify([grant.openid, grant.resources]);
  const scope = typeof params?.scope === 'string' ? params.scope : '';
  grant.addOIDCScope(scope);
  const resources = ctx.oidc.resourceServers ?? {};
  for (const [identifier, server] of Object.entries(resources)) {
    // a roles API may offer this user nothing
    if (server.scope) grant.addResourceScope(identifier, server.scope);
  }
  if (!existing || JSON.stringify([grant.openid, grant.resources]) !== before) await grant.save();
  return grant;
}
