import type { Configuration } from 'oidc-provider';
import type { ResourceServers } from '../../domain/resource-servers.ts';

type Introspection = NonNullable<NonNullable<Configuration['features']>['introspection']>;
type AllowedPolicy = NonNullable<Introspection['allowedPolicy']>;

function audiences(aud: string | string[] | undefined): string[] {
  if (aud === undefined) return [];
  return Array.isArray(aud) ? aud : [aud];
}

/**
 * Who may learn about a token at introspection (RFC 7662 §4): its own client, always; for an
 * access token, also a confidential client that an API the token is for names as one of its
 * introspectors (the resource server asking about tokens presented to it). A refresh token is its
 * client's business alone. Anyone else is answered `active: false`, as for an unknown token.
 */
export function introspectionAllowedPolicy(resourceServers: ResourceServers): AllowedPolicy {
  return async (_ctx, client, token) => {
    if (token.clientId === client.clientId) return true;
    if (token.kind === 'RefreshToken' || client.clientAuthMethod === 'none') return false;
    for (const audience of audiences(token.aud)) {
      if ((await resourceServers.find(audience))?.introspectors.includes(client.clientId)) return true;
    }
    return false;
  };
}
