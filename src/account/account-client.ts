import type { ClientMetadata, Clients } from '../domain/clients.ts';
import { Conflict, NotFound } from '../domain/errors.ts';
import { ACCOUNT_PATH } from '../interactions/paths.ts';

/** The built-in first-party client the account pages sign in through. */
export const ACCOUNT_CLIENT_ID = 'postern-account';
export const ACCOUNT_CLIENT_NAME = 'Your account';

export const accountCallbackUri = (issuer: string) => `${issuer}${ACCOUNT_PATH}/callback`;

function isCurrent(metadata: ClientMetadata, issuer: string): boolean {
  return (
    metadata.token_endpoint_auth_method === 'none' &&
    metadata.first_party &&
    metadata.redirect_uris.length === 1 &&
    metadata.redirect_uris[0] === accountCallbackUri(issuer) &&
    metadata.grant_types.includes('authorization_code')
  );
}

/**
 * Registers the account pages' client when it is missing, or registers it again when it no longer
 * fits this issuer (another port or host). Safe when several instances start at once: whoever
 * loses the race to insert finds the winner's registration, which is the same.
 */
export async function ensureAccountClient(clients: Clients, issuer: string): Promise<void> {
  const existing = await clients.metadataFor(ACCOUNT_CLIENT_ID);
  if (existing && isCurrent(existing, issuer)) return;
  if (existing) {
    // an outdated registration of our own id: it holds only this client's grants and codes
    await clients.delete(ACCOUNT_CLIENT_ID).catch((error: unknown) => {
      if (!(error instanceof NotFound)) throw error;
    });
  }
  try {
    await clients.create({
      clientId: ACCOUNT_CLIENT_ID,
      name: ACCOUNT_CLIENT_NAME,
      type: 'public',
      redirectUris: [accountCallbackUri(issuer)],
      grantTypes: ['authorization_code'],
      scopes: ['openid'],
      firstParty: true,
    });
  } catch (error) {
    if (!(error instanceof Conflict)) throw error;
  }
}
