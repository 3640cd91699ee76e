import type { RoleHolder } from '../../domain/roles.ts';
import type { EntitlementsLookup } from '../entitlements.ts';
import type { ExtraTokenClaims } from './extra-token-claims.ts';

/**
 * `roles` in an access token for an API: the names of the holder's roles (the user's, or the
 * client's own for client credentials) that give a permission on that API, as they are when the
 * token is issued. Left out when there are none, so deployments without roles issue the same tokens.
 */
export function accessTokenRoles(entitlements: EntitlementsLookup): ExtraTokenClaims {
  return async (ctx, token) => {
    const api = token.resourceServer?.identifier();
    if (!api) return undefined;
    const holder: RoleHolder = token.kind === 'ClientCredentials' ? { kind: 'client', id: token.clientId! } : { kind: 'account', id: token.accountId };
    const roles = (await entitlements.of(holder, ctx)).rolesOn(api);
    return roles.length > 0 ? { roles } : undefined;
  };
}
