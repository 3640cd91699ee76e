import { createHash } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import type { Provider } from 'oidc-provider';
import type { AuditLog } from '../domain/audit.ts';
import type { CodeEntrant, DeviceCodeGuard } from '../domain/device-code-guard.ts';
import { TooManyRequests } from '../domain/errors.ts';
import { ipBucket } from './rate-limit/subjects.ts';
import { outcomeOf } from '../oidc/device-flow/outcome.ts';
import { isCodeVerification } from '../oidc/device-flow/paths.ts';

/** The browser, by a digest of the engine's signed session cookie (never the cookie itself). */
function entrantOf(ctx: Context, provider: Provider): CodeEntrant {
  const session = ctx.cookies.get(provider.cookieName('session'), { signed: true });
  return { ip: ipBucket(ctx.ip), browser: session ? createHash('sha256').update(session).digest('base64url').slice(0, 32) : undefined };
}

/**
 * Every post of a user code passes here before the engine looks it up: a locked browser or address
 * is refused with 429 and the engine never sees its code; a wrong, expired or used code (the code
 * page sets the outcome) counts towards the locks and is audited, as is the lock it brings about.
 */
export function guardUserCodes(guard: DeviceCodeGuard, audit: AuditLog, provider: () => Provider): Middleware {
  return async (ctx, next) => {
    if (ctx.method !== 'POST' || !isCodeVerification(ctx.path)) return next();
    const entrant = entrantOf(ctx, provider());
    const record = (type: string, details: Record<string, unknown>) => audit.record({ type, ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined, details });
    const state = await guard.check(entrant);
    if (state.locked) {
      await record('device.code_failed', { reason: 'locked' });
      ctx.set('Retry-After', String(state.retryAfterSeconds));
      ctx.set('Cache-Control', 'no-store');
      throw new TooManyRequests('Too many wrong codes were entered from this browser or network.');
    }
    await next();
    const outcome = outcomeOf(ctx);
    if (outcome?.kind !== 'wrong_code') return;
    const failure = await guard.recordFailure(entrant);
    await record('device.code_failed', { reason: outcome.reason });
    if (failure.lockedNow) await record('device.code_locked', { scope: failure.scope });
  };
}
