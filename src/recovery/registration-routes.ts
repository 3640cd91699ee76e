import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { csrfToken } from '../http/csrf.ts';
import { REGISTRATION_PATH } from '../interactions/paths.ts';
import type { Views, WayOn } from '../interactions/views.ts';
import type { Logger } from '../logger.ts';
import { field, linkToken, originOf } from './form-input.ts';
import { languageOf, translatorOf, useRequestLanguage } from '../pages/language/page-language.ts';
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
    const way = await deps.wayOn(ctx);
    ctx.type = 'html';
    ctx.body = views.render('register', {
      ...way,
      title: translatorOf(ctx).t('register.title'),
      action: REGISTRATION_PATH,
      csrfToken: csrfToken(ctx),
      ...values,
      minLength: deps.passwordMinLength,
      error,
    }, languageOf(ctx));
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
      return renderForm(ctx, values, translatorOf(ctx).t('register.mismatch'));
    }
    // the sign-in it began from, and so its language, is known before the mail is written
    const way = await deps.wayOn(ctx);
    const outcome = await registration.register({ ...values, password }, originOf(ctx), ctx.state.log as Logger, translatorOf(ctx));
    if (outcome.status === 'refused') {
      ctx.status = 400;
      return renderForm(ctx, values, outcome.message);
    }
    // the same page whether the account was made or the address had one already
    ctx.type = 'html';
    ctx.body = views.render('register-sent', {
      title: translatorOf(ctx).t('registerSent.title'),
      email: values.email.trim(),
      mailed: outcome.mailed,
      ttl: translatorOf(ctx).duration(registration.ttlSeconds),
      ...way,
    }, languageOf(ctx));
  });

  router.get(VERIFY_EMAIL_PATH, async (ctx) => {
    const verified = await registration.verify(linkToken(ctx), originOf(ctx));
    const way = await deps.wayOn(ctx);
    // the link is used up: the switcher leads on rather than back to it
    useRequestLanguage(ctx, undefined, way.next?.href ?? way.accountLink);
    ctx.type = 'html';
    if (!verified) {
      ctx.status = 410;
      ctx.body = views.render('verify-invalid', { title: translatorOf(ctx).t('verifyInvalid.title'), ...way }, languageOf(ctx));
      return;
    }
    ctx.body = views.render('verify-done', { title: translatorOf(ctx).t('verifyDone.title'), ...way }, languageOf(ctx));
  });
}
