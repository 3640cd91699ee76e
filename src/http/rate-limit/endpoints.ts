import type { RateLimitedEndpoint } from '../../config.ts';

/** Endpoints whose errors are RFC 6749 style JSON; the others are pages that answer HTML. */
export const PROTOCOL_ENDPOINTS: ReadonlySet<RateLimitedEndpoint> = new Set(['token', 'introspection', 'revocation', 'userinfo']);

const POSTS = new Map<string, RateLimitedEndpoint>([
  ['/token', 'token'],
  ['/token/introspection', 'introspection'],
  ['/token/revocation', 'revocation'],
  ['/me', 'userinfo'],
  ['/register', 'registration'],
  ['/reset', 'password_reset'],
  ['/reset/complete', 'password_reset'],
]);

const INTERACTION_STEP = /^\/interaction\/[^/]+\/(?:login|totp|enrol)$/;

/**
 * Which limited endpoint a request is for, if any. Paths are compared the way the routers behind
 * match them (case-insensitive, one trailing slash tolerated), so `/TOKEN/` cannot go round the limit.
 */
export function rateLimitedEndpoint(method: string, rawPath: string): RateLimitedEndpoint | undefined {
  const isPost = method === 'POST';
  // the engine serves userinfo on GET, and so on HEAD
  if (!isPost && method !== 'GET' && method !== 'HEAD') return undefined;
  const trimmed = rawPath.length > 1 && rawPath.charCodeAt(rawPath.length - 1) === 0x2f ? rawPath.slice(0, -1) : rawPath;
  const path = trimmed.toLowerCase();
  if (!isPost) return path === '/me' ? 'userinfo' : undefined;
  return POSTS.get(path) ?? (path.startsWith('/interaction/') && INTERACTION_STEP.test(path) ? 'login' : undefined);
}
