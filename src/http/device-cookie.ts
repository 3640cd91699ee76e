import type { Context } from 'koa';
import type { TrustedDevices } from '../domain/trusted-devices.ts';

const COOKIE = 'postern.device';
const MAX_ACCOUNTS = 5;
const MAX_AGE_MS = 365 * 24 * 3600 * 1000;
const ENTRY = /^[\w-]{1,64}\.[\w-]{16,64}$/;

function entries(ctx: Context): string[] {
  const raw = ctx.cookies.get(COOKIE, { signed: true }) ?? '';
  return raw.split('|').filter((entry) => ENTRY.test(entry));
}

/** The device id this browser's cookie names for `accountId`, whether or not the account still trusts it. */
function presentedDeviceId(ctx: Context, accountId: string): string | undefined {
  const entry = entries(ctx).find((candidate) => candidate.startsWith(`${accountId}.`));
  return entry?.slice(accountId.length + 1);
}

/**
 * The device id this browser was given when it signed in to `accountId`, while the account still
 * trusts that device (see TrustedDevices and LoginThrottle); a device it no longer trusts is none.
 */
export async function trustedDeviceId(ctx: Context, accountId: string | undefined, devices: TrustedDevices): Promise<string | undefined> {
  if (!accountId) return undefined;
  const deviceId = presentedDeviceId(ctx, accountId);
  return deviceId !== undefined && (await devices.isLive(accountId, deviceId)) ? deviceId : undefined;
}

/**
 * After a successful sign-in (or a password change) checked against the account at `generation`:
 * keeps this browser's device for the account, or issues a new one, and sets the cookie.
 */
export async function rememberDevice(ctx: Context, accountId: string, generation: number, devices: TrustedDevices): Promise<void> {
  const deviceId = await devices.remember(accountId, generation, presentedDeviceId(ctx, accountId));
  const others = entries(ctx).filter((entry) => !entry.startsWith(`${accountId}.`));
  const value = [`${accountId}.${deviceId}`, ...others].slice(0, MAX_ACCOUNTS).join('|');
  ctx.cookies.set(COOKIE, value, { httpOnly: true, sameSite: 'lax', secure: ctx.secure, signed: true, path: '/', maxAge: MAX_AGE_MS, overwrite: true });
}
