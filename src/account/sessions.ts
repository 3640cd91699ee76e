import type Router from '@koa/router';
import { csrfToken } from '../http/csrf.ts';
import { ACCOUNT_CLIENT_ID } from './account-client.ts';
import { displayRecentTime, displayTime, noticeFrom } from './format.ts';
import { languageOf, translatorOf } from '../pages/language/page-language.ts';
import { WordedInvalidRequest, WordedNotFound } from '../pages/language/worded-errors.ts';
import type { AccountPageDependencies, AccountPages } from './pages.ts';
import { ACCOUNT_PAGES, route, SIGN_OUT_LINK } from './paths.ts';
import { deviceLabel } from './user-agent.ts';

/** Where the account is signed in, and signing those browsers out: one, or all of them. */
export function sessionRoutes(router: Router, deps: AccountPageDependencies, pages: AccountPages): void {
  async function clientName(clientId: string): Promise<string> {
    return (await deps.services.clients.metadataFor(clientId))?.client_name ?? clientId;
  }

  router.get(
    route(ACCOUNT_PAGES.sessions),
    pages.signedIn(async (ctx, user) => {
      const sessions = await deps.sessions.list(user.account.id);
      const translator = translatorOf(ctx);
      const described = await Promise.all(
        sessions.map(async (session) => ({
          uid: session.uid,
          device: deviceLabel(session.userAgent, translator),
          ip: session.ip,
          startedAt: displayTime(session.startedAt, translator),
          lastSeenAt: session.lastSeenAt ? displayRecentTime(session.lastSeenAt, translator) : undefined,
          current: session.uid === user.sessionUid,
          applications: await Promise.all(session.clientIds.filter((id) => id !== ACCOUNT_CLIENT_ID).map(clientName)),
        })),
      );
      // this browser first: it is the one people look for
      described.sort((a, b) => Number(b.current) - Number(a.current));
      pages.html(
        ctx,
        200,
        deps.views.render('account-sessions', {
          title: translator.t('sessions.title'),
          backLink: ACCOUNT_PAGES.overview,
          csrfToken: csrfToken(ctx),
          endAction: ACCOUNT_PAGES.endSession,
          endAllAction: ACCOUNT_PAGES.endAllSessions,
          signOutLink: SIGN_OUT_LINK,
          notice: noticeFrom(ctx.query.notice, translator),
          sessions: described,
        }, languageOf(ctx)),
      );
    }),
  );

  router.post(
    route(ACCOUNT_PAGES.endSession),
    ...pages.form,
    pages.signedIn(async (ctx, user) => {
      const uid = (ctx.request.body as Record<string, unknown>).session;
      if (typeof uid !== 'string' || uid === '' || uid.length > 128) throw new WordedInvalidRequest('refusal.chooseDevice');
      // end() checks that the session is this account's: anyone else's is "not found"
      if (!(await deps.sessions.end(user.account.id, uid))) throw new WordedNotFound('refusal.deviceNotSignedIn');
      await pages.audit(ctx, user, { type: 'session.ended', details: { sessionUid: uid, current: uid === user.sessionUid } });
      if (uid === user.sessionUid) pages.redirect(ctx, ACCOUNT_PAGES.signedOut);
      else pages.redirect(ctx, ACCOUNT_PAGES.sessions, 'device-signed-out');
    }),
  );

  router.post(
    route(ACCOUNT_PAGES.endAllSessions),
    ...pages.form,
    pages.signedIn(async (ctx, user) => {
      const ended = await deps.sessions.endAll(user.account.id);
      await pages.audit(ctx, user, { type: 'session.ended_all', details: ended });
      pages.redirect(ctx, `${ACCOUNT_PAGES.signedOut}?everywhere=1`);
    }),
  );
}
