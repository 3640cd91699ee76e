import type { RateLimitedEndpoint } from '../../config.ts';
import { engineRouteKey } from '../../oidc/engine-path.ts';

/** Endpoints whose errors are RFC 6749 style JSON; the others are pages that answer HTML. */
export const PROTOCOL_ENDPOINTS: ReadonlySet<RateLimitedEndpoint> = new Set(['token', 'introspection', 'revocation', 'userinfo', 'client_registration', 'device_authorization']);

const POSTS = new Map<string, RateLimitedEndpoint>(
  (
    [
      ['/token', 'token'],
      ['/token/introspection', 'introspection'],
      ['/token/revocation', 'revocation'],
      ['/me', 'userinfo'],
      ['/register', 'registration'],
      ['/reg', 'client_registration'],
      ['/reset', 'password_reset'],
      ['/reset/complete', 'password_reset'],
      ['/device/auth', 'device_authorization'],
      // every user-code entry and confirmation; wrong codes are also counted apart (device-code-guard.ts)
      ['/device', 'device'],
    ] as const
  ).map(([path, endpoint]) => [engineRouteKey(path), endpoint]),
);
const USERINFO = engineRouteKey('/me');

const INTERACTION_STEP = /^\/INTERACTION\/[^/]+\/(?:LOGIN|TOTP|ENROL)$/;

/**
 * Which limited endpoint a request is for, if any. Paths are compared the way the routers behind
 * match them (case-insensitive, one trailing slash tolerated), so `/TOKEN/` cannot go round the limit.
 */
export function rateLimitedEndpoint(method: string, rawPath: string): RateLimitedEndpoint | undefined {
  // every method: the admin API is matched exactly as it routes (case-sensitively)
  if (rawPath === '/admin/v1' || rawPath.startsWith('/admin/v1/')) return 'admin';
  const isPost = method === 'POST';
  // the engine serves userinfo on GET, and so on HEAD
  if (!isPost && method !== 'GET' && method !== 'HEAD') return undefined;
  const path = engineRouteKey(rawPath);
  if (!isPost) return path === USERINFO ? 'userinfo' : undefined;
  return POSTS.get(path) ?? (path.startsWith('/INTERACTION/') && INTERACTION_STEP.test(path) ? 'login' : undefined);
}
