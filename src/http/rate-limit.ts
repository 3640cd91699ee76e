import type { Context, Middleware } from 'koa';
import type { RateLimit, RateLimitedEndpoint } from '../config.ts';
import { sendProblem } from '../admin/problem.ts';
import { TooManyRequests } from '../domain/errors.ts';
import type { Views } from '../interactions/views.ts';
import type { KvStore } from '../store/kv/index.ts';
import { countRateLimited } from '../metrics/index.ts';
import { errorHandler } from './error-handler.ts';
import { PROTOCOL_ENDPOINTS, rateLimitedEndpoint } from './rate-limit/endpoints.ts';
import { basicClientId, bodyClientId, ipBucket } from './rate-limit/subjects.ts';

export interface RateLimitOptions {
  kv: KvStore;
  limits: Readonly<Record<RateLimitedEndpoint, RateLimit | null>>;
  /** renders the HTML error page of the page endpoints */
  views: Views;
}

interface Verdict {
  remaining: number;
  resetSeconds: number;
  /** set when one of the budgets is spent: seconds until every spent one starts again */
  retryAfterSeconds: number | undefined;
}

const FAILURE_LOG_INTERVAL_MS = 10_000;

/**
 * Fixed-window request budgets per endpoint, one per client IP and one per client_id, counted in
 * the ephemeral tier so that every instance spends from the same budget. Counted responses carry
 * the RateLimit header fields (draft-ietf-httpapi-ratelimit-headers-07, the tighter budget of the
 * two); a request over either budget is answered 429 in the endpoint's own error format.
 *
 * When the counters cannot be reached the request goes through uncounted and the failure is
 * logged (at most every ten seconds): the limit guards capacity, the endpoints do not depend on it.
 */
export function rateLimit(options: RateLimitOptions): Middleware {
  const { kv, limits } = options;
  const renderPageError = errorHandler(options.views);
  let lastFailureLog = 0;
  let unloggedFailures = 0;

  function logFailure(ctx: Context, endpoint: RateLimitedEndpoint, error: unknown) {
    const now = Date.now();
    if (now - lastFailureLog < FAILURE_LOG_INTERVAL_MS) {
      unloggedFailures += 1;
      return;
    }
    ctx.state.log?.error({ err: error, endpoint, unloggedFailures }, 'rate limit counters unavailable; requests pass uncounted');
    lastFailureLog = now;
    unloggedFailures = 0;
  }

  return async (ctx, next) => {
    const endpoint = rateLimitedEndpoint(ctx.method, ctx.path);
    const limit = endpoint === undefined ? null : limits[endpoint];
    if (endpoint === undefined || limit === null) return next();

    let verdict: Verdict;
    try {
      verdict = await count(kv, endpoint, limit, ctx);
    } catch (error) {
      logFailure(ctx, endpoint, error);
      return next();
    }

    ctx.set('RateLimit-Limit', String(limit.limit));
    ctx.set('RateLimit-Remaining', String(verdict.remaining));
    ctx.set('RateLimit-Reset', String(verdict.resetSeconds));
    ctx.set('RateLimit-Policy', `${limit.limit};w=${limit.windowSeconds}`);
    if (verdict.retryAfterSeconds === undefined) return next();

    countRateLimited(endpoint);
    ctx.state.route = endpoint;
    ctx.set('Retry-After', String(verdict.retryAfterSeconds));
    ctx.set('Cache-Control', 'no-store');
    const description = `Too many requests. Try again in ${verdict.retryAfterSeconds} second${verdict.retryAfterSeconds === 1 ? '' : 's'}.`;
    if (endpoint === 'admin') return sendProblem(ctx, 429, 'too_many_requests', description);
    if (PROTOCOL_ENDPOINTS.has(endpoint)) {
      ctx.status = 429;
      ctx.body = { error: 'too_many_requests', error_description: description };
      return;
    }
    await renderPageError(ctx, () => {
      throw new TooManyRequests(description);
    });
  };
}

async function count(kv: KvStore, endpoint: RateLimitedEndpoint, limit: RateLimit, ctx: Context): Promise<Verdict> {
  // pages have no client authentication: a client_id there would only be a key an attacker picks
  const clientId = PROTOCOL_ENDPOINTS.has(endpoint)
    ? (basicClientId(ctx.get('authorization') || undefined) ?? bodyClientId((ctx.request as { body?: unknown }).body))
    : undefined;
  const keys = [`ratelimit:${endpoint}:ip:${ipBucket(ctx.ip)}`];
  if (clientId !== undefined) keys.push(`ratelimit:${endpoint}:client:${clientId}`);
  const counted = await Promise.all(keys.map((key) => kv.increment(key, limit.windowSeconds)));

  let remaining = Infinity;
  let resetSeconds = 0;
  let retryAfterSeconds: number | undefined;
  for (const { count: used, ttlSeconds } of counted) {
    const reset = secondsToReset(ttlSeconds, limit.windowSeconds);
    const left = Math.max(0, limit.limit - used);
    if (left < remaining || (left === remaining && reset > resetSeconds)) {
      remaining = left;
      resetSeconds = reset;
    }
    if (used > limit.limit) retryAfterSeconds = Math.max(retryAfterSeconds ?? 0, reset);
  }
  return { remaining, resetSeconds, retryAfterSeconds };
}

/** Whole seconds, at least one, never more than the window (a counter without expiry reads as a full window). */
function secondsToReset(ttlSeconds: number, windowSeconds: number): number {
  if (ttlSeconds < 0) return windowSeconds;
  return Math.min(windowSeconds, Math.max(1, Math.ceil(ttlSeconds)));
}
