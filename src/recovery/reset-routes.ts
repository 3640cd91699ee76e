import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { csrfToken } from '../http/csrf.ts';
import { PASSWORD_RESET_PATH } from '../interactions/paths.ts';
import type { Views, WayOn } from '../interactions/views.ts';
import type { Logger } from '../logger.ts';
import { describeDuration } from './mail-messages.ts';
import { field, linkToken, originOf } from './form-input.ts';
import type { PasswordReset } from './password-reset.ts';
import { rememberSignIn } from './sign-in-return.ts';

export const RESET_COMPLETE_PATH = `${PASSWORD_RESET_PATH}/complete`;

export interface ResetRouteDependencies {
  reset: PasswordReset;
  views: Views;
  /** shown as a hint on the new-password form */
  passwordMinLength: number;
  form: Middleware[];
  /** back to the sign-in the reset began from, or on to the account pages */
  wayOn: (ctx: Context) => Promise<WayOn>;
}

/**
 * GET/POST /reset: ask for a link. GET /reset/complete?token=: the new-password form while the
 * link is usable. POST /reset/complete: set the password, end every session, revoke every token.
 */
export function resetRoutes(router: Router, deps: ResetRouteDependencies): void {
  const { reset, views, form } = deps;
  const ttl = describeDuration(reset.ttlSeconds);

  async function renderInvalid(ctx: Context) {
    ctx.status = 410;
    ctx.type = 'html';
    ctx.body = views.render('reset-invalid', { title: 'This link cannot be used', requestLink: PASSWORD_RESET_PATH, ttl, ...(await deps.wayOn(ctx)) });
  }

  function renderPasswordForm(ctx: Context, token: string, username: string, error?: string) {
    ctx.type = 'html';
    ctx.body = views.render('reset-password', {
      title: 'Choose a new password',
      action: RESET_COMPLETE_PATH,
      csrfToken: csrfToken(ctx),
      token,
      username,
      minLength: deps.passwordMinLength,
      error,
    });
  }

  router.get(PASSWORD_RESET_PATH, async (ctx) => {
    rememberSignIn(ctx);
    ctx.type = 'html';
    ctx.body = views.render('reset', { title: 'Reset your password', action: PASSWORD_RESET_PATH, csrfToken: csrfToken(ctx), ...(await deps.wayOn(ctx)) });
  });

  router.post(PASSWORD_RESET_PATH, ...form, async (ctx) => {
    const login = field(ctx, 'login').slice(0, 320);
    const log = ctx.state.log as Logger;
    // Not awaited: the answer must not wait on the lookup, the token or the mail server, or its
    // timing would tell an existing account from a missing one. Failures only reach the log.
    reset.request(login, originOf(ctx)).catch((error: unknown) => {
      log.error({ reason: (error as Error).message }, 'password reset request failed');
    });
    ctx.type = 'html';
    ctx.body = views.render('reset-sent', { title: 'Check your email', requestLink: PASSWORD_RESET_PATH, ttl, ...(await deps.wayOn(ctx)) });
  });

  router.get(RESET_COMPLETE_PATH, async (ctx) => {
    const token = linkToken(ctx);
    const account = await reset.accountFor(token);
    if (!account) return renderInvalid(ctx);
    renderPasswordForm(ctx, token, account.username);
  });

  router.post(RESET_COMPLETE_PATH, ...form, async (ctx) => {
    const token = field(ctx, 'token');
    const password = field(ctx, 'password');
    const account = await reset.accountFor(token);
    if (!account) return renderInvalid(ctx);
    if (password !== field(ctx, 'confirm')) {
      ctx.status = 400;
      return renderPasswordForm(ctx, token, account.username, 'The two passwords are not the same. Type the new password twice.');
    }
    const outcome = await reset.complete(token, password, originOf(ctx));
    if (outcome.status === 'invalid') return renderInvalid(ctx);
    if (outcome.status === 'refused') {
      ctx.status = 400;
      return renderPasswordForm(ctx, token, account.username, outcome.message);
    }
    ctx.type = 'html';
    ctx.body = views.render('reset-done', { title: 'Password changed', ...(await deps.wayOn(ctx)) });
  });
}
