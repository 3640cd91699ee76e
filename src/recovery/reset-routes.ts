import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { csrfToken } from '../http/csrf.ts';
import { PASSWORD_RESET_PATH } from '../interactions/paths.ts';
import type { Views, WayOn } from '../interactions/views.ts';
import type { Logger } from '../logger.ts';
import { languageOf, translatorOf } from '../pages/language/page-language.ts';
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
  const ttl = (ctx: Context) => translatorOf(ctx).duration(reset.ttlSeconds);

  async function renderInvalid(ctx: Context) {
    const way = await deps.wayOn(ctx);
    ctx.status = 410;
    ctx.type = 'html';
    ctx.body = views.render('reset-invalid', { title: translatorOf(ctx).t('resetInvalid.title'), requestLink: PASSWORD_RESET_PATH, ttl: ttl(ctx), ...way }, languageOf(ctx));
  }

  function renderPasswordForm(ctx: Context, token: string, username: string, error?: string) {
    ctx.type = 'html';
    ctx.body = views.render('reset-password', {
      title: translatorOf(ctx).t('resetPassword.title'),
      action: RESET_COMPLETE_PATH,
      csrfToken: csrfToken(ctx),
      token,
      username,
      minLength: deps.passwordMinLength,
      error,
    }, languageOf(ctx));
  }

  router.get(PASSWORD_RESET_PATH, async (ctx) => {
    rememberSignIn(ctx);
    const way = await deps.wayOn(ctx);
    ctx.type = 'html';
    ctx.body = views.render('reset', { title: translatorOf(ctx).t('reset.title'), action: PASSWORD_RESET_PATH, csrfToken: csrfToken(ctx), ...way }, languageOf(ctx));
  });

  router.post(PASSWORD_RESET_PATH, ...form, async (ctx) => {
    const login = field(ctx, 'login').slice(0, 320);
    const log = ctx.state.log as Logger;
    // the sign-in it began from, and so its language, is known before the mail is written
    const way = await deps.wayOn(ctx);
    // Not awaited: the answer must not wait on the lookup, the token or the mail server, or its
    // timing would tell an existing account from a missing one. Failures only reach the log.
    reset.request(login, originOf(ctx), translatorOf(ctx)).catch((error: unknown) => {
      log.error({ reason: (error as Error).message }, 'password reset request failed');
    });
    ctx.type = 'html';
    ctx.body = views.render('reset-sent', { title: translatorOf(ctx).t('resetSent.title'), requestLink: PASSWORD_RESET_PATH, ttl: ttl(ctx), ...way }, languageOf(ctx));
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
      return renderPasswordForm(ctx, token, account.username, translatorOf(ctx).t('resetPassword.mismatch'));
    }
    const outcome = await reset.complete(token, password, originOf(ctx), translatorOf(ctx));
    if (outcome.status === 'invalid') return renderInvalid(ctx);
    if (outcome.status === 'refused') {
      ctx.status = 400;
      return renderPasswordForm(ctx, token, account.username, outcome.message);
    }
    const way = await deps.wayOn(ctx);
    ctx.type = 'html';
    ctx.body = views.render('reset-done', { title: translatorOf(ctx).t('resetDone.title'), ...way }, languageOf(ctx));
  });
}
