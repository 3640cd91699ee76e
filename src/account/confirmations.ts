import type Router from '@koa/router';
import type { Context } from 'koa';
import { csrfToken } from '../http/csrf.ts';
import type { AccountConfirmPage } from '../interactions/views.ts';
import { grantsByApplication } from './applications.ts';
import type { AccountPageDependencies, AccountPages } from './pages.ts';
import { ACCOUNT_PAGES, route } from './paths.ts';
import type { SignedInUser } from './signed-in.ts';
import { deviceLabel } from './user-agent.ts';
import { languageOf, translatorOf } from '../pages/language/page-language.ts';
import { WordedInvalidRequest, WordedNotFound } from '../pages/language/worded-errors.ts';

/** The page that asks for the password and a code before two-step verification is turned off. */
export function renderDisableTwoStep(ctx: Context, deps: AccountPageDependencies, pages: AccountPages, user: SignedInUser, status: number, error?: string): void {
  pages.html(
    ctx,
    status,
    deps.views.render('account-two-step-disable', {
      action: ACCOUNT_PAGES.disableTwoStep,
      backLink: ACCOUNT_PAGES.twoStep,
      csrfToken: csrfToken(ctx),
      username: user.account.username,
      error,
    }, languageOf(ctx)),
  );
}

/**
 * The GET of each destructive action's own address: a page that asks first, whose form posts to
 * that address (the action's existing POST route, unchanged). No JavaScript is involved.
 */
export function confirmationRoutes(router: Router, deps: AccountPageDependencies, pages: AccountPages): void {
  function ask(ctx: Context, page: Omit<AccountConfirmPage, 'csrfToken'>) {
    pages.html(ctx, 200, deps.views.render('account-confirm', { ...page, csrfToken: csrfToken(ctx) }, languageOf(ctx)));
  }

  router.get(
    route(ACCOUNT_PAGES.endSession),
    pages.signedIn(async (ctx, user) => {
      const uid = ctx.query.session;
      if (typeof uid !== 'string' || uid === '' || uid.length > 128) throw new WordedInvalidRequest('refusal.chooseDevice');
      const session = (await deps.sessions.list(user.account.id)).find((candidate) => candidate.uid === uid);
      if (!session) throw new WordedNotFound('refusal.deviceNotSignedIn');
      ask(ctx, { kind: 'end-session', subject: deviceLabel(session.userAgent, translatorOf(ctx)), action: ACCOUNT_PAGES.endSession, fields: [{ name: 'session', value: uid }], cancelLink: ACCOUNT_PAGES.sessions });
    }),
  );

  router.get(
    route(ACCOUNT_PAGES.endAllSessions),
    pages.signedIn(async (ctx) => {
      ask(ctx, { kind: 'end-all', action: ACCOUNT_PAGES.endAllSessions, fields: [], cancelLink: ACCOUNT_PAGES.sessions });
    }),
  );

  router.get(
    route(ACCOUNT_PAGES.revokeApplication),
    pages.signedIn(async (ctx, user) => {
      const field = ctx.query.grants;
      const requested = new Set(typeof field === 'string' ? field.split(/\s+/).filter(Boolean) : []);
      if (requested.size === 0 || requested.size > 100) throw new WordedInvalidRequest('refusal.chooseApplication');
      const application = [...(await grantsByApplication(deps, user.account.id))].find(([, grants]) => grants.some((grant) => requested.has(grant.grantId)));
      const own = new Set(application?.[1].map((grant) => grant.grantId));
      if (!application || ![...requested].every((grantId) => own.has(grantId))) throw new WordedNotFound('refusal.applicationHasNoAccess');
      const name = (await deps.services.clients.metadataFor(application[0]))?.client_name ?? application[0];
      ask(ctx, { kind: 'revoke', subject: name, action: ACCOUNT_PAGES.revokeApplication, fields: [{ name: 'grants', value: [...requested].join(' ') }], cancelLink: ACCOUNT_PAGES.applications });
    }),
  );

  router.get(
    route(ACCOUNT_PAGES.removePasskey),
    pages.signedIn(async (ctx, user) => {
      const id = ctx.query.passkey;
      const passkey = typeof id === 'string' ? (await deps.services.passkeys.list(user.account.id)).find((candidate) => candidate.id === id) : undefined;
      if (!passkey) throw new WordedNotFound('refusal.passkeyUnknown');
      ask(ctx, { kind: 'remove-passkey', subject: passkey.name, action: ACCOUNT_PAGES.removePasskey, fields: [{ name: 'passkey', value: passkey.id }], cancelLink: ACCOUNT_PAGES.passkeys });
    }),
  );

  router.get(
    route(ACCOUNT_PAGES.disableTwoStep),
    pages.signedIn(async (ctx, user) => {
      if (!(await deps.services.totp.isEnabled(user.account.id))) return pages.redirect(ctx, ACCOUNT_PAGES.twoStep);
      renderDisableTwoStep(ctx, deps, pages, user, 200);
    }),
  );
}
