import Router from '@koa/router';
import { ACCOUNT_PATH } from '../interactions/paths.ts';
import { ensureAccountClient } from './account-client.ts';
import { applicationRoutes, grantsByApplication } from './applications.ts';
import { confirmationRoutes } from './confirmations.ts';
import { noticeFrom } from './format.ts';
import { languageOf, translatorOf } from '../pages/language/page-language.ts';
import { accountPages, type AccountPageDependencies } from './pages.ts';
import { passkeyRoutes } from './passkeys.ts';
import { passwordRoutes } from './password.ts';
import { profileRoutes } from './profile.ts';
import { ACCOUNT_PAGES, route, SIGN_OUT_LINK } from './paths.ts';
import { reauthentication } from './reauthentication.ts';
import { sessionRoutes } from './sessions.ts';
import { checkCallback, currentUser } from './signed-in.ts';
import { twoStepRoutes } from './two-step.ts';

export type AccountRouterDependencies = Omit<AccountPageDependencies, 'ensureClient'>;

/**
 * The user's own pages at /account: profile, password, sessions and devices, two-step
 * verification and the applications with access. They are reached with the same browser session
 * (the engine's cookie) that signs the user in to applications; without one, the browser signs in
 * through the engine with the built-in "Your account" client and comes back.
 */
export async function accountRouter(options: AccountRouterDependencies): Promise<Router> {
  // checked again before each sign-in (a cached read), so that a deleted registration comes back
  const ensureClient = () => ensureAccountClient(options.services.clients, options.issuer);
  // at startup, so that the first visitor does not wait; a failure here is retried on first use
  await ensureClient().catch((error: unknown) => options.logger.warn({ err: error }, 'could not register the account pages client'));

  const deps: AccountPageDependencies = { ...options, ensureClient };
  const pages = accountPages(deps);
  const reauth = reauthentication(deps, pages);
  const router = new Router({ prefix: ACCOUNT_PATH });

  router.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    await next();
  });

  router.get(
    route(ACCOUNT_PAGES.overview),
    pages.signedIn(async (ctx, user) => {
      const { account } = user;
      const [twoStepEnabled, passkeyCount, sessions, applications] = await Promise.all([
        deps.services.totp.isEnabled(account.id),
        deps.services.passkeys.count(account.id),
        deps.sessions.list(account.id),
        grantsByApplication(deps, account.id),
      ]);
      const translator = translatorOf(ctx);
      pages.html(
        ctx,
        200,
        deps.views.render('account', {
          title: translator.t('account.title'),
          username: account.username,
          name: account.name,
          email: account.email,
          emailVerified: account.emailVerified,
          twoStepEnabled,
          passkeyCount,
          sessionCount: sessions.length,
          applicationCount: applications.size,
          notice: noticeFrom(ctx.query.notice, translator),
          links: {
            profile: ACCOUNT_PAGES.profile,
            password: ACCOUNT_PAGES.password,
            twoStep: ACCOUNT_PAGES.twoStep,
            passkeys: ACCOUNT_PAGES.passkeys,
            sessions: ACCOUNT_PAGES.sessions,
            applications: ACCOUNT_PAGES.applications,
            signOut: SIGN_OUT_LINK,
          },
        }, languageOf(ctx)),
      );
    }),
  );

  router.get(route(ACCOUNT_PAGES.callback), async (ctx) => {
    const outcome = checkCallback(ctx, deps.issuer);
    const { t } = translatorOf(ctx);
    const again = { href: ACCOUNT_PAGES.overview, label: t('accountMessage.again') };
    if (outcome.kind === 'unexpected') {
      return pages.html(
        ctx,
        400,
        deps.views.render('account-message', {
          title: t('accountMessage.unfinished'),
          heading: t('accountMessage.unfinished'),
          lead: t('accountMessage.linkUnusable'),
          link: again,
        }, languageOf(ctx)),
      );
    }
    if (outcome.kind === 'refused') {
      const cancelled = outcome.error === 'access_denied';
      return pages.html(
        ctx,
        cancelled ? 200 : 400,
        deps.views.render('account-message', {
          title: t(cancelled ? 'accountMessage.cancelled' : 'accountMessage.unfinished'),
          heading: t(cancelled ? 'accountMessage.cancelled' : 'accountMessage.unfinished'),
          lead: t(cancelled ? 'accountMessage.notSignedIn' : 'accountMessage.didNotWork'),
          link: again,
        }, languageOf(ctx)),
      );
    }
    // checked here rather than on /account, so that a session the engine accepts and these pages
    // do not can never send the browser round in circles
    if (!(await currentUser(ctx, deps.provider(), deps.services.accounts))) {
      return pages.html(
        ctx,
        403,
        deps.views.render('account-message', {
          title: t('accountMessage.unavailable'),
          heading: t('accountMessage.unavailable'),
          lead: t('accountMessage.unavailableLead'),
          link: { href: SIGN_OUT_LINK, label: t('account.signOut') },
        }, languageOf(ctx)),
      );
    }
    pages.redirect(ctx, outcome.returnTo);
  });

  router.get(route(ACCOUNT_PAGES.signedOut), async (ctx) => {
    const everywhere = ctx.query.everywhere === '1';
    const afterPassword = ctx.query.after === 'password';
    const { t } = translatorOf(ctx);
    pages.html(
      ctx,
      200,
      deps.views.render('account-message', {
        title: t('accountMessage.signedOut'),
        heading: t('accountMessage.signedOut'),
        lead: t(everywhere ? (afterPassword ? 'accountMessage.signedOutAfterPassword' : 'accountMessage.signedOutEverywhere') : 'accountMessage.signedOutHere'),
        link: { href: ACCOUNT_PAGES.overview, label: t('accountMessage.signInAgain') },
      }, languageOf(ctx)),
    );
  });

  profileRoutes(router, deps, pages);
  passwordRoutes(router, deps, pages, reauth);
  sessionRoutes(router, deps, pages);
  twoStepRoutes(router, deps, pages, reauth);
  passkeyRoutes(router, deps, pages, reauth);
  applicationRoutes(router, deps, pages);
  confirmationRoutes(router, deps, pages);
  return router;
}
