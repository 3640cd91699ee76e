import { createLocalJWKSet, jwtVerify, type JWK } from 'jose';
import type { Clients } from '../domain/clients.ts';
import type { ResourceServers } from '../domain/resource-servers.ts';
import type { Roles } from '../domain/roles.ts';
import { Problem } from './problem.ts';

/** The client calling, and the admin scopes it holds now. */
export interface AdminCaller {
  clientId: string;
  scopes: ReadonlySet<string>;
}

export interface AdminAuthenticationOptions {
  issuer: string;
  /** the admin API's identifier: the audience its tokens must carry */
  audience: string;
  /** the server's published signing keys, read on every call (they rotate) */
  publicJwks: () => JWK[];
  clients: Pick<Clients, 'metadataFor'>;
  resourceServers: Pick<ResourceServers, 'find'>;
  roles: Pick<Roles, 'clientPermissionsFor'>;
}

function unauthorized(detail: string, error?: 'invalid_token'): Problem {
  // RFC 6750 §3: no error attribute when the request had no token at all
  const challenge = error ? `Bearer realm="admin", error="${error}"` : 'Bearer realm="admin"';
  return new Problem(401, 'unauthorized', detail, { headers: { 'WWW-Authenticate': challenge } });
}

/**
 * Admin API tokens are RS256 JWT access tokens (RFC 9068) the server itself issued to a client
 * for the admin API's audience through the client credentials grant, verified with its own
 * public keys: no round trip to introspection on every call. What the signature cannot know is
 * checked against what is stored now, through the same caches the token endpoint reads: the client
 * must still exist, and the token's scopes count only while the client's roles still give them,
 * so a deleted client or a role taken away stops working at once, not when the token expires.
 */
export function adminAuthentication(options: AdminAuthenticationOptions): (authorization: string | undefined) => Promise<AdminCaller> {
  let source: JWK[] | undefined;
  let keySet: ReturnType<typeof createLocalJWKSet> | undefined;
  const keys = () => {
    const jwks = options.publicJwks();
    if (jwks !== source) {
      source = jwks;
      keySet = createLocalJWKSet({ keys: jwks });
    }
    return keySet!;
  };

  return async (authorization) => {
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(authorization?.trim() ?? '');
    if (!authorization) throw unauthorized('Send an access token for the admin API: Authorization: Bearer <token>.');
    if (!match) throw unauthorized('The Authorization header is not a Bearer token.', 'invalid_token');
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(match[1]!, keys(), { issuer: options.issuer, audience: options.audience, typ: 'at+jwt', algorithms: ['RS256'] }));
    } catch {
      throw unauthorized('The access token is not valid for the admin API (signature, issuer, audience or expiry).', 'invalid_token');
    }
    const clientId = payload.client_id;
    // a client acting for itself (client credentials): a token a user delegated is not admin access
    if (typeof clientId !== 'string' || payload.sub !== clientId) throw unauthorized('Only a client acting for itself (client credentials) may call the admin API.', 'invalid_token');
    const [client, api] = await Promise.all([options.clients.metadataFor(clientId), options.resourceServers.find(options.audience)]);
    if (!client || !api) throw unauthorized('The client of this token is no longer registered.', 'invalid_token');
    const granted = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
    const allowedNow = new Set((await options.roles.clientPermissionsFor(clientId)).scopesOn(api));
    return { clientId, scopes: new Set(granted.filter((scope) => allowedNow.has(scope))) };
  };
}

/** 403 unless the caller holds `scope` (RFC 6750 §3.1 insufficient_scope). */
export function requireScope(caller: AdminCaller, scope: string): void {
  if (caller.scopes.has(scope)) return;
  throw new Problem(403, 'insufficient_scope', `This operation needs the scope ${scope}.`, {
    headers: { 'WWW-Authenticate': `Bearer realm="admin", error="insufficient_scope", scope="${scope}"` },
  });
}
