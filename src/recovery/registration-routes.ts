import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { csrfToken } from '../http/csrf.ts';
import { REGISTRATION_PATH } from '../interactions/paths.ts';
import type { Views, WayOn } from '../interactions/views.ts';
import type { Logger } from '../logger.ts';
import { field, linkToken, originOf } from './form-input.ts';
import { describeDuration } from './mail-messages.ts';
import type { Registration, RegistrationForm } from './registration.ts';
import { rememberSignIn } from './sign-in-return.ts';

export const VERIFY_EMAIL_PATH = `${REGISTRATION_PATH}/verify`;

export interface RegistrationRouteDependencies {
  registration: Registration;
  views: Views;
  passwordMinLength: number;
  form: Middleware[];
  /** back to the sign-in the registration began from, or on to the account pages */
  wayOn: (ctx: Context) => Promise<WayOn>;
}

/**
 * GET/POST /register: the sign-up form. GET /register/verify?token=: confirms the email address.
 * Registered only when self-service registration is on; otherwise these paths do not exist.
 */
export function registrationRoutes(router: Router, deps: RegistrationRouteDependencies): void {
  const { registration, views, form } = deps;

  async function renderForm(ctx: Context, values: Omit<RegistrationForm, 'password'>, error?: string) {
    ctx.type = 'html';
    ctx.body = views.render('register', {
      ...(await deps.wayOn(ctx)),
      title: 'Create an account',
      action: REGISTRATION_PATH,
      csrfToken: csrfToken(ctx),
      ...values,
      minLength: deps.passwordMinLength,
      error,
    });
  }

  router.get(REGISTRATION_PATH, (ctx) => {
    rememberSignIn(ctx);
    return renderForm(ctx, { username: '', email: '', name: '' });
  });

  router.post(REGISTRATION_PATH, ...form, async (ctx) => {
    const values = { username: field(ctx, 'username').slice(0, 320), email: field(ctx, 'email').slice(0, 320), name: field(ctx, 'name').slice(0, 1000) };
    const password = field(ctx, 'password');
    if (password !== field(ctx, 'confirm')) {
      ctx.status = 400;
      return renderForm(ctx, values, 'The two passwords are not the same. Type the password twice.');
    }
    const outcome = await registration.register({ ...values, password }, originOf(ctx), ctx.state.log as Logger);
    if (outcome.status === 'refused') {
      ctx.status = 400;
      return renderForm(ctx, values, outcome.message);
    }
    // the same page whether the account was made or the address had one already
    ctx.type = 'html';
    ctx.body = views.render('register-sent', {
      title: 'Check your email',
      email: values.email.trim(),
      mailed: outcome.mailed,
      ttl: describeDuration(registration.ttlSeconds),
      ...(await deps.wayOn(ctx)),
    });
  });

  router.get(VERIFY_EMAIL_PATH, async (ctx) => {
    const verified = await registration.verify(linkToken(ctx), originOf(ctx));
    ctx.type = 'html';
    if (!verified) {
      ctx.status = 410;
      ctx.body = views.render('verify-invalid', { title: 'This link cannot be used', ...(await deps.wayOn(ctx)) });
      return;
    }
    ctx.body = views.render('verify-done', { title: 'Email address confirmed', ...(await deps.wayOn(ctx)) });
  });
}
