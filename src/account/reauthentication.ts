import type { Context } from 'koa';
import type { SignInAttempt } from '../domain/login-throttle.ts';
import { trustedDeviceId } from '../http/device-cookie.ts';
import { translatorOf } from '../pages/language/page-language.ts';
import type { AccountPageDependencies, AccountPages } from './pages.ts';
import type { SignedInUser } from './signed-in.ts';

export type ReauthAction = 'change_password' | 'enrol_second_factor' | 'remove_second_factor' | 'regenerate_recovery_codes' | 'add_passkey';

export type Verdict = { ok: true; usedRecoveryCode?: boolean } | { ok: false; message: string };


/**
 * Proof, for a sensitive change, that the person at this signed-in browser is the account's owner.
 * Wrong passwords and codes count against the same lockout as at sign-in, so a borrowed or stolen
 * session cannot be used to guess them.
 */
export function reauthentication(deps: AccountPageDependencies, pages: AccountPages) {
  const { accounts, throttle, totp, recoveryCodes, trustedDevices } = deps.services;

  async function attemptOf(ctx: Context, user: SignedInUser): Promise<SignInAttempt> {
    return { accountId: user.account.id, deviceId: await trustedDeviceId(ctx, user.account.id, trustedDevices), ip: ctx.ip };
  }

  async function lockedMessage(ctx: Context, attempt: SignInAttempt): Promise<string | undefined> {
    const state = await throttle.check(attempt);
    if (!state.locked) return undefined;
    const minutes = Math.max(1, Math.ceil(state.retryAfterSeconds / 60));
    return translatorOf(ctx).t('password.locked', { minutes });
  }

  async function failed(ctx: Context, user: SignedInUser, attempt: SignInAttempt, action: ReauthAction, reason: string, message: string): Promise<Verdict> {
    const outcome = await throttle.recordFailure(attempt);
    await pages.audit(ctx, user, { type: 'reauthentication.failed', details: { action, reason } });
    if (outcome.lockedNow) await pages.audit(ctx, user, { type: 'login.locked', details: { scope: outcome.scope, waitSeconds: outcome.waitSeconds, action } });
    return { ok: false, message };
  }

  return {
    async password(ctx: Context, user: SignedInUser, password: unknown, action: ReauthAction): Promise<Verdict> {
      const attempt = await attemptOf(ctx, user);
      const locked = await lockedMessage(ctx, attempt);
      if (locked) return { ok: false, message: locked };
      const given = typeof password === 'string' ? password.slice(0, 4096) : '';
      if (given === '' || !(await accounts.checkPassword(user.account.id, given))) {
        return failed(ctx, user, attempt, action, 'wrong_password', translatorOf(ctx).t('password.wrongCurrent'));
      }
      // no recordSuccess: a right password must not wipe the count of wrong codes that follow it
      return { ok: true };
    },

    /** A current code from the authenticator app; with `allowRecoveryCode`, an unused recovery code too. */
    async secondFactor(ctx: Context, user: SignedInUser, code: unknown, action: ReauthAction, allowRecoveryCode: boolean): Promise<Verdict> {
      const attempt = await attemptOf(ctx, user);
      const locked = await lockedMessage(ctx, attempt);
      if (locked) return { ok: false, message: locked };
      const given = typeof code === 'string' ? code.slice(0, 64) : '';
      if (given !== '' && (await totp.verify(user.account.id, given))) return { ok: true };
      if (given !== '' && allowRecoveryCode && (await recoveryCodes.use(user.account.id, given))) return { ok: true, usedRecoveryCode: true };
      return failed(ctx, user, attempt, action, 'wrong_code', translatorOf(ctx).t(allowRecoveryCode ? 'code.wrongOrUsedRecovery' : 'code.wrong'));
    },
  };
}

export type Reauthentication = ReturnType<typeof reauthentication>;
