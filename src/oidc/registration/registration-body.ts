import type { Middleware } from 'koa';
import type { ClientRegistrationMode } from '../../config.ts';
import { InvalidClientMetadata, InvalidRequest } from '../../domain/errors.ts';
import { OIDC_SCOPES } from '../configuration/claims.ts';
import { SCOPE_ALLOWANCE } from '../configuration/client-scope-allowance.ts';
import { readBodyLimited, replaceBody } from '../engine-body.ts';
import { engineRouteKey } from '../engine-path.ts';
import { OPERATOR_ONLY_METADATA } from './registration-policy.ts';

const REGISTRATION = engineRouteKey('/reg');
const OPENID_SCOPES: ReadonlySet<string> = new Set(OIDC_SCOPES);

/** Whether this request registers a client or changes a registration (RFC 7591 §3, RFC 7592 §2.2). */
function isRegistrationWrite(method: string, path: string): boolean {
  const key = engineRouteKey(path);
  if (method === 'POST') return key === REGISTRATION;
  return method === 'PUT' && key.startsWith(`${REGISTRATION}/`);
}

/**
 * Prepares a registration body for the engine: properties only an operator sets are refused; the
 * requested scope is split as for every client (the engine knows only OpenID scopes, the whole
 * allowance goes in `scope_allowance`, see client-scope-allowance.ts); in open mode a client that
 * names no application type registers as a native one (RFC 8252).
 */
export function registrationBody(mode: ClientRegistrationMode): Middleware {
  return async (ctx, next) => {
    if (mode === 'off' || !isRegistrationWrite(ctx.method, ctx.path) || !ctx.is('application/json')) return next();
    let body: unknown;
    try {
      body = JSON.parse((await readBodyLimited(ctx)).toString('utf8'));
    } catch (error) {
      if (error instanceof SyntaxError) throw new InvalidRequest('the registration request must be a JSON object', { cause: error });
      throw error;
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidRequest('the registration request must be a JSON object');
    const metadata = body as Record<string, unknown>;
    const named = OPERATOR_ONLY_METADATA.filter((property) => property in metadata);
    if (named.length > 0) throw new InvalidClientMetadata(`${named.join(', ')} cannot be registered by a client`);
    if (typeof metadata.scope === 'string') {
      const scopes = metadata.scope.split(' ').filter(Boolean);
      const openid = scopes.filter((scope) => OPENID_SCOPES.has(scope));
      if (openid.length > 0) metadata.scope = openid.join(' ');
      else delete metadata.scope;
      metadata[SCOPE_ALLOWANCE] = scopes.join(' ');
    }
    if (mode === 'open-native' && metadata.application_type === undefined) metadata.application_type = 'native';
    replaceBody(ctx, Buffer.from(JSON.stringify(metadata)));
    return next();
  };
}
