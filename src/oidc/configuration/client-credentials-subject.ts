import type { Configuration } from 'oidc-provider';

type ExtraTokenClaims = NonNullable<Configuration['extraTokenClaims']>;

/**
 * A client-credentials token acts for its client, and says so as its subject: the JWT form carries
 * `sub` = client id already (RFC 9068 §2.2), and with this the introspection answer does too, for
 * opaque and JWT tokens alike. Resource servers that require a subject (mod_auth_openidc) need it.
 */
export const clientCredentialsSubject: ExtraTokenClaims = (_ctx, token) => (token.kind === 'ClientCredentials' ? { sub: token.clientId } : undefined);
