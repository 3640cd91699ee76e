import type { Configuration } from 'oidc-provider';
import type { TokenLifetimes } from '../../config.ts';

export function ttlConfiguration(ttl: TokenLifetimes): NonNullable<Configuration['ttl']> {
  return {
    AccessToken: (_ctx, token) => (token.resourceServer?.accessTokenTTL as number | undefined) ?? ttl.accessToken,
    ClientCredentials: (_ctx, token) => (token.resourceServer?.accessTokenTTL as number | undefined) ?? ttl.clientCredentials,
    AuthorizationCode: ttl.authorizationCode,
    IdToken: ttl.idToken,
    RefreshToken: ttl.refreshToken,
    Session: ttl.session,
    Interaction: ttl.interaction,
    Grant: ttl.refreshToken,
    DeviceCode: ttl.deviceCode,
  };
}
