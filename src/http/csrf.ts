import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import { InvalidCsrfToken } from '../domain/errors.ts';

const COOKIE = 'postern.csrf';

function cookieOptions(ctx: Context) {
  return { httpOnly: true, sameSite: 'lax' as const, secure: ctx.secure, signed: true, path: '/', overwrite: true };
}

/** The form token of this browser, creating its signed cookie on first use. */
export function csrfToken(ctx: Context): string {
  const existing = ctx.cookies.get(COOKIE, { signed: true });
  if (existing) return existing;
  const token = randomBytes(32).toString('base64url');
  ctx.cookies.set(COOKIE, token, cookieOptions(ctx));
  return token;
}

/**
 * Synchroniser-token check for form posts: the `csrf` field must equal this browser's signed
 * cookie. Run after the body parser, on POST routes only.
 */
export const requireCsrfToken: Middleware = async (ctx, next) => {
  const expected = ctx.cookies.get(COOKIE, { signed: true });
  const body = ctx.request.body as Record<string, unknown> | undefined;
  const given = typeof body?.csrf === 'string' ? body.csrf : '';
  const valid = Boolean(expected) && given.length === expected!.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected!));
  if (!valid) throw new InvalidCsrfToken('This form has expired or did not come from this site. Go back, reload the page and try again.');
  await next();
};
