import type { KoaContextWithOIDC } from 'oidc-provider';

/**
 * `loadExistingGrant`: the engine's default, plus an automatic grant for first-party clients so
 * that they skip the consent page (oidc-provider's documented "skip consent" recipe).
 */
export async function loadExistingGrant(ctx: KoaContextWithOIDC) {
  const { client, session, params, provider } = ctx.oidc;
  if (!client || !session?.accountId) return undefined;
  const grantId = ctx.oidc.result?.consent?.grantId ?? session.grantIdFor(client.clientId);
  if (grantId) {
    const existing = await provider.Grant.find(grantId);
    if (existing) return existing;
  }
  if (client.metadata().first_party !== true) return undefined;

  const grant = new provider.Grant({ clientId: client.clientId, accountId: session.accountId });
  const scope = typeof params?.scope === 'string' ? params.scope : '';
  grant.addOIDCScope(scope);
  const resources = ctx.oidc.resourceServers ?? {};
  for (const [identifier, server] of Object.entries(resources)) {
    grant.addResourceScope(identifier, server.scope);
  }
  await grant.save();
  return grant;
}
