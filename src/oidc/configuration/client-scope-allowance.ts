import type { Client } from 'oidc-provider';
import type { ClientMetadata } from '../../domain/clients.ts';
import { OIDC_SCOPES } from './claims.ts';

/** The client metadata property that carries a client's whole scope allowance, API scopes included. */
export const SCOPE_ALLOWANCE = 'scope_allowance';

const OPENID_SCOPES: ReadonlySet<string> = new Set(OIDC_SCOPES);

export type EngineClientMetadata = ClientMetadata & { [SCOPE_ALLOWANCE]?: string };

/**
 * The engine refuses a client whose `scope` names a scope it does not know at construction, and
 * API scopes are registered at runtime. So it gets the OpenID scopes of the allowance as `scope`
 * (which then limits those the client may ask for; an allowance naming none leaves them unlimited),
 * and the whole allowance as `scope_allowance`, applied to API scopes by getResourceServerInfo.
 */
export function engineClientMetadata(metadata: ClientMetadata): EngineClientMetadata {
  const { scope, ...rest } = metadata;
  if (!scope) return rest;
  const openid = scope.split(' ').filter((name) => OPENID_SCOPES.has(name));
  return { ...rest, ...(openid.length > 0 ? { scope: openid.join(' ') } : {}), [SCOPE_ALLOWANCE]: scope };
}

/** The scopes the client may ask for; undefined when it may ask for any. */
export function scopeAllowance(client: Client): Set<string> | undefined {
  const allowance = client.metadata()[SCOPE_ALLOWANCE];
  return typeof allowance === 'string' && allowance !== '' ? new Set(allowance.split(' ')) : undefined;
}
