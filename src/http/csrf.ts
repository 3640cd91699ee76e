import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import { InvalidCsrfToken } from '../domain/errors.ts';
import { worded } from '../pages/language/worded-errors.ts';

const COOKIE = 'postern.csrf';
const TOKEN_BYTES = 32;

function cookieOptions(ctx: Context) {
  return { httpOnly: true, sameSite: 'lax' as const, secure: ctx.secure, signed: true, path: '/', overwrite: true };
}

function secretOf(ctx: Context): Buffer | undefined {
  const cookie = ctx.cookies.get(COOKIE, { signed: true });
  const secret = cookie ? Buffer.from(cookie, 'base64url') : undefined;
  return secret?.length === TOKEN_BYTES ? secret : undefined;
}

function xor(a: Buffer, b: Buffer): Buffer {
  return Buffer.from(a.map((byte, index) => byte ^ b[index]!));
}

/**
 * The form token of this browser, creating its signed cookie on first use. Each call masks the
 * cookie's secret with a fresh pad (pad ‖ pad⊕secret), so that a compressed page never carries the
 * same token twice and its size tells nothing about it (BREACH).
 */
export function csrfToken(ctx: Context): string {
  let secret = secretOf(ctx);
  if (!secret) {
    secret = randomBytes(TOKEN_BYTES);
    ctx.cookies.set(COOKIE, secret.toString('base64url'), cookieOptions(ctx));
  }
  const pad = randomBytes(TOKEN_BYTES);
  return Buffer.concat([pad, xor(pad, secret)]).toString('base64url');
}

/**
 * Synchroniser-token check for form posts: the `csrf` field, unmasked, must equal this browser's
 * signed cookie. Run after the body parser, on POST routes only.
 */
export const requireCsrfToken: Middleware = async (ctx, next) => {
  const expected = secretOf(ctx);
  const body = ctx.request.body as Record<string, unknown> | undefined;
  const given = Buffer.from(typeof body?.csrf === 'string' ? body.csrf : '', 'base64url');
  const valid = expected !== undefined && given.length === 2 * TOKEN_BYTES && timingSafeEqual(xor(given.subarray(0, TOKEN_BYTES), given.subarray(TOKEN_BYTES)), expected);
  if (!valid) throw worded(new InvalidCsrfToken('This form has expired or did not come from this site. Go back, reload the page and try again.'), 'refusal.csrf');
  await next();
};
