import Router from '@koa/router';
import { ACCOUNT_PATH } from '../interactions/paths.ts';
import { ensureAccountClient } from './account-client.ts';
import { applicationRoutes, grantsByApplication } from './applications.ts';
import { confirmationRoutes } from './confirmations.ts';
import { noticeFrom } from './format.ts';
import { accountPages, type AccountPageDependencies } from './pages.ts';
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
      const [twoStepEnabled, sessions, applications] = await Promise.all([
        deps.services.totp.isEnabled(account.id),
        deps.sessions.list(account.id),
        grantsByApplication(deps, account.id),
      ]);
      pages.html(
        ctx,
        200,
        deps.views.render('account', {
          title: 'Your account',
          username: account.username,
          name: account.name,
          email: account.email,
          emailVerified: account.emailVerified,
          twoStepEnabled,
          sessionCount: sessions.length,
          applicationCount: applications.size,
          notice: noticeFrom(ctx.query.notice),
          links: {
            profile: ACCOUNT_PAGES.profile,
            password: ACCOUNT_PAGES.password,
            twoStep: ACCOUNT_PAGES.twoStep,
            sessions: ACCOUNT_PAGES.sessions,
            applications: ACCOUNT_PAGES.applications,
            signOut: SIGN_OUT_LINK,
          },
        }),
      );
    }),
  );

  router.get(route(ACCOUNT_PAGES.callback), async (ctx) => {
    const outcome = checkCallback(ctx, deps.issuer);
    const again = { href: ACCOUNT_PAGES.overview, label: 'Sign in to your account' };
    if (outcome.kind === 'unexpected') {
      return pages.html(
        ctx,
        400,
        deps.views.render('account-message', {
          title: 'Sign-in did not finish',
          heading: 'Sign-in did not finish',
          lead: 'This sign-in link has expired, was used already, or was opened in another browser.',
          link: again,
        }),
      );
    }
    if (outcome.kind === 'refused') {
      const cancelled = outcome.error === 'access_denied';
      return pages.html(
        ctx,
        cancelled ? 200 : 400,
        deps.views.render('account-message', {
          title: cancelled ? 'Sign-in cancelled' : 'Sign-in did not finish',
          heading: cancelled ? 'Sign-in cancelled' : 'Sign-in did not finish',
          lead: cancelled ? 'You are not signed in to your account.' : 'Signing in to your account did not work. Try again.',
          link: again,
        }),
      );
    }
    // checked here rather than on /account, so that a session the engine accepts and these pages
    // do not can never send the browser round in circles
    if (!(await currentUser(ctx, deps.provider(), deps.services.accounts))) {
      return pages.html(
        ctx,
        403,
        deps.views.render('account-message', {
          title: 'Your account is not available',
          heading: 'Your account is not available',
          lead: 'This account cannot be managed here right now. If you think this is a mistake, contact the people who run this service.',
          link: { href: SIGN_OUT_LINK, label: 'Sign out' },
        }),
      );
    }
    pages.redirect(ctx, outcome.returnTo);
  });

  router.get(route(ACCOUNT_PAGES.signedOut), async (ctx) => {
    const everywhere = ctx.query.everywhere === '1';
    const afterPassword = ctx.query.after === 'password';
    pages.html(
      ctx,
      200,
      deps.views.render('account-message', {
        title: 'You are signed out',
        heading: 'You are signed out',
        lead: everywhere
          ? `${afterPassword ? 'Your password was changed. ' : ''}Your account was signed out on every device, this one included, and applications lost the access they got through your sign-in.`
          : 'This device was signed out of your account.',
        link: { href: ACCOUNT_PAGES.overview, label: 'Sign in again' },
      }),
    );
  });

  profileRoutes(router, deps, pages);
  passwordRoutes(router, deps, pages, reauth);
  sessionRoutes(router, deps, pages);
  twoStepRoutes(router, deps, pages, reauth);
  applicationRoutes(router, deps, pages);
  confirmationRoutes(router, deps, pages);
  return router;
}
