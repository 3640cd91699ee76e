import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';

const COOKIE = 'postern.device';
const MAX_ACCOUNTS = 5;
const MAX_AGE_MS = 365 * 24 * 3600 * 1000;
const ENTRY = /^[\w-]{1,64}\.[\w-]{16,64}$/;

function entries(ctx: Context): string[] {
  const raw = ctx.cookies.get(COOKIE, { signed: true }) ?? '';
  return raw.split('|').filter((entry) => ENTRY.test(entry));
}

/**
 * The device id this browser was given when it last signed in to `accountId`, if any. The cookie
 * is signed, so only a browser that once knew the password holds one (see LoginThrottle).
 */
export function deviceIdFor(ctx: Context, accountId: string | undefined): string | undefined {
  if (!accountId) return undefined;
  const entry = entries(ctx).find((candidate) => candidate.startsWith(`${accountId}.`));
  return entry?.slice(accountId.length + 1);
}

/** After a successful sign-in: keeps (or issues) this browser's device id for the account. */
export function rememberDevice(ctx: Context, accountId: string): string {
  const deviceId = deviceIdFor(ctx, accountId) ?? randomBytes(16).toString('base64url');
  const others = entries(ctx).filter((entry) => !entry.startsWith(`${accountId}.`));
  const value = [`${accountId}.${deviceId}`, ...others].slice(0, MAX_ACCOUNTS).join('|');
  ctx.cookies.set(COOKIE, value, { httpOnly: true, sameSite: 'lax', secure: ctx.secure, signed: true, path: '/', maxAge: MAX_AGE_MS, overwrite: true });
  return deviceId;
}
