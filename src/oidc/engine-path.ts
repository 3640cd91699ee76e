/**
 * Paths as oidc-provider's router compares them (lib/helpers/router.js): upper-cased, but a
 * non-ASCII character whose upper case is ASCII keeps its own form, and one trailing slash is
 * tolerated. Postern's middleware in front of an engine endpoint matches with this, so a request
 * the engine serves as `/token/introspection` is the one Postern checks, whatever its spelling.
 */
function fold(value: string): string {
  for (let i = 0; i < value.length; i += 1) {
    if (value.charCodeAt(i) > 127) {
      let out = '';
      for (const char of value) {
        const upper = char.toUpperCase();
        out += upper.length === 1 && !(char.codePointAt(0)! > 127 && upper.codePointAt(0)! < 128) ? upper : char;
      }
      return out;
    }
  }
  return value.toUpperCase();
}

/** The route key the engine would look `path` up under. */
export function engineRouteKey(path: string): string {
  const trimmed = path.length > 1 && path.charCodeAt(path.length - 1) === 0x2f ? path.slice(0, -1) : path;
  return fold(trimmed);
}

/** A matcher for one of the engine's fixed routes, e.g. `matchesEngineRoute('/token/introspection')`. */
export function matchesEngineRoute(route: string): (path: string) => boolean {
  const key = engineRouteKey(route);
  return (path) => path === route || engineRouteKey(path) === key;
}

/** the registration management endpoint (RFC 7592): /reg/<client_id> */
const REGISTRATION_MANAGEMENT = `${engineRouteKey('/reg')}/`;

const JSON_ENDPOINTS = new Set(
  ['/token', '/token/introspection', '/token/revocation', '/me', '/jwks', '/.well-known/openid-configuration', '/.well-known/oauth-authorization-server', '/request', '/reg', '/device/auth', '/backchannel'].map(engineRouteKey),
);

/** Whether `path` is an endpoint that answers machines in JSON (its errors too), not a page for people. */
export function isJsonEndpoint(path: string): boolean {
  const key = engineRouteKey(path);
  return JSON_ENDPOINTS.has(key) || key.startsWith(REGISTRATION_MANAGEMENT);
}
