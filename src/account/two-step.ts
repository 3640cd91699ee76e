import type Router from '@koa/router';
import type { Context } from 'koa';
import { csrfToken } from '../http/csrf.ts';
import type { AccountTwoStepPage } from '../interactions/views.ts';
import { renderDisableTwoStep } from './confirmations.ts';
import { displayTime, noticeFrom } from './format.ts';
import type { AccountPageDependencies, AccountPages } from './pages.ts';
import { ACCOUNT_PAGES, route } from './paths.ts';
import type { Reauthentication } from './reauthentication.ts';
import type { SignedInUser } from './signed-in.ts';
import { languageOf, translatorOf } from '../pages/language/page-language.ts';

/**
 * Two-step verification: turning it on (a code from the new secret and the password), turning it
 * off (the password and a code), and new recovery codes (a code from the authenticator app: the
 * codes stand in for the app, so it takes the app, not only the password, to mint new ones).
 */
export function twoStepRoutes(router: Router, deps: AccountPageDependencies, pages: AccountPages, reauth: Reauthentication): void {
  const { totp, recoveryCodes } = deps.services;
  const label = (user: SignedInUser) => user.account.email ?? user.account.username;

  async function renderStatus(ctx: Context, user: SignedInUser, status: number, error?: AccountTwoStepPage['error']) {
    const state = await totp.status(user.account.id);
    const translator = translatorOf(ctx);
    pages.html(
      ctx,
      status,
      deps.views.render('account-two-step', {
        title: translator.t('twoStep.title'),
        backLink: ACCOUNT_PAGES.overview,
        csrfToken: csrfToken(ctx),
        username: user.account.username,
        enabled: state.enabled,
        enabledAt: state.enabledAt ? displayTime(state.enabledAt, translator) : undefined,
        remainingCodes: state.enabled ? await recoveryCodes.remaining(user.account.id) : 0,
        enrolLink: ACCOUNT_PAGES.enrol,
        disableLink: ACCOUNT_PAGES.disableTwoStep,
        regenerateAction: ACCOUNT_PAGES.regenerateCodes,
        notice: error ? undefined : noticeFrom(ctx.query.notice, translator),
        error,
      }, languageOf(ctx)),
    );
  }

  async function renderEnrol(ctx: Context, user: SignedInUser, status: number, error?: string) {
    // the same secret again while one is pending, so an app that already scanned it keeps working
    const enrolment = (await totp.pendingEnrolment(user.account.id, label(user))) ?? (await totp.beginEnrolment(user.account.id, label(user)));
    pages.html(
      ctx,
      status,
      deps.views.render('account-enrol', {
        title: translatorOf(ctx).t('enrol.title'),
        action: ACCOUNT_PAGES.enrol,
        backLink: ACCOUNT_PAGES.twoStep,
        csrfToken: csrfToken(ctx),
        username: user.account.username,
        qrSvg: enrolment.qrSvg,
        secret: enrolment.secret,
        otpauthUri: enrolment.otpauthUri,
        error,
      }, languageOf(ctx)),
    );
  }

  function renderCodes(ctx: Context, codes: string[], replaced: boolean) {
    pages.html(ctx, 200, deps.views.render('account-recovery-codes', { title: translatorOf(ctx).t('recoveryCodes.title'), codes, replaced, doneLink: ACCOUNT_PAGES.twoStep }, languageOf(ctx)));
  }

  router.get(route(ACCOUNT_PAGES.twoStep), pages.signedIn((ctx, user) => renderStatus(ctx, user, 200)));

  router.get(
    route(ACCOUNT_PAGES.enrol),
    pages.signedIn(async (ctx, user) => {
      if (await totp.isEnabled(user.account.id)) return pages.redirect(ctx, ACCOUNT_PAGES.twoStep);
      await renderEnrol(ctx, user, 200);
    }),
  );

  router.post(
    route(ACCOUNT_PAGES.enrol),
    ...pages.form,
    pages.signedIn(async (ctx, user) => {
      if (await totp.isEnabled(user.account.id)) return pages.redirect(ctx, ACCOUNT_PAGES.twoStep);
      const body = ctx.request.body as Record<string, unknown>;
      // whoever holds only the session must not be able to tie the account to their own phone
      const verdict = await reauth.password(ctx, user, body.password, 'enrol_second_factor');
      if (!verdict.ok) return renderEnrol(ctx, user, 401, verdict.message);
      const code = typeof body.code === 'string' ? body.code.slice(0, 32) : '';
      if (!(await totp.confirmEnrolment(user.account.id, code))) {
        return renderEnrol(ctx, user, 400, translatorOf(ctx).t('code.wrongAtEnrolment'));
      }
      const codes = await recoveryCodes.generate(user.account.id);
      await pages.audit(ctx, user, { type: 'second_factor.enrolled', details: { method: 'totp', during: 'account' } });
      renderCodes(ctx, codes, false);
    }),
  );

  router.post(
    route(ACCOUNT_PAGES.disableTwoStep),
    ...pages.form,
    pages.signedIn(async (ctx, user) => {
      if (!(await totp.isEnabled(user.account.id))) return pages.redirect(ctx, ACCOUNT_PAGES.twoStep);
      const body = ctx.request.body as Record<string, unknown>;
      const password = await reauth.password(ctx, user, body.password, 'remove_second_factor');
      if (!password.ok) return renderDisableTwoStep(ctx, deps, pages, user, 401, password.message);
      const code = await reauth.secondFactor(ctx, user, body.code, 'remove_second_factor', true);
      if (!code.ok) return renderDisableTwoStep(ctx, deps, pages, user, 401, code.message);
      await totp.disable(user.account.id);
      await recoveryCodes.clear(user.account.id);
      await pages.audit(ctx, user, { type: 'second_factor.removed', details: { method: 'totp', with: code.usedRecoveryCode ? 'recovery_code' : 'totp' } });
      pages.redirect(ctx, ACCOUNT_PAGES.twoStep, 'two-step-off');
    }),
  );

  router.post(
    route(ACCOUNT_PAGES.regenerateCodes),
    ...pages.form,
    pages.signedIn(async (ctx, user) => {
      if (!(await totp.isEnabled(user.account.id))) return pages.redirect(ctx, ACCOUNT_PAGES.twoStep);
      const body = ctx.request.body as Record<string, unknown>;
      const code = await reauth.secondFactor(ctx, user, body.code, 'regenerate_recovery_codes', false);
      if (!code.ok) return renderStatus(ctx, user, 401, { form: 'regenerate', text: code.message });
      const codes = await recoveryCodes.generate(user.account.id);
      await pages.audit(ctx, user, { type: 'recovery_codes.regenerated', details: { count: codes.length } });
      renderCodes(ctx, codes, true);
    }),
  );
}
