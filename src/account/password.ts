import type Router from '@koa/router';
import type { Context } from 'koa';
import { WeakPassword } from '../domain/errors.ts';
import { csrfToken } from '../http/csrf.ts';
import { rememberDevice } from '../http/device-cookie.ts';
import type { AccountPageDependencies, AccountPages } from './pages.ts';
import { ACCOUNT_PAGES, route } from './paths.ts';
import type { Reauthentication } from './reauthentication.ts';
import type { SignedInUser } from './signed-in.ts';
import { languageOf, translatorOf } from '../pages/language/page-language.ts';
import { weakPasswordWords } from '../pages/language/password-words.ts';

/** The checkbox's value: an unchecked box sends nothing. */
const SIGN_OUT_EVERYWHERE = 'yes';

/**
 * Changing the password: the current one first. Afterwards every other session of the user ends
 * and every other browser loses the trust that let it through the lockout; with "Also sign out of
 * every application" (checked by default) the user is signed out everywhere instead, so that tokens
 * held by applications, perhaps taken with the old password, stop working.
 */
export function passwordRoutes(router: Router, deps: AccountPageDependencies, pages: AccountPages, reauth: Reauthentication): void {
  function render(ctx: Context, user: SignedInUser, status: number, error?: string) {
    pages.html(
      ctx,
      status,
      deps.views.render('account-password', {
        title: translatorOf(ctx).t('accountPassword.title'),
        action: ACCOUNT_PAGES.password,
        backLink: ACCOUNT_PAGES.overview,
        csrfToken: csrfToken(ctx),
        username: user.account.username,
        minLength: deps.passwordMinLength,
        signOutEverywhere: SIGN_OUT_EVERYWHERE,
        error,
      }, languageOf(ctx)),
    );
  }

  router.get(route(ACCOUNT_PAGES.password), pages.signedIn(async (ctx, user) => render(ctx, user, 200)));

  router.post(
    route(ACCOUNT_PAGES.password),
    ...pages.form,
    pages.signedIn(async (ctx, user) => {
      const body = ctx.request.body as Record<string, unknown>;
      const verdict = await reauth.password(ctx, user, body.current_password, 'change_password');
      if (!verdict.ok) return render(ctx, user, 401, verdict.message);
      const next = typeof body.new_password === 'string' ? body.new_password : '';
      if (next !== body.confirm_password) return render(ctx, user, 400, translatorOf(ctx).t('password.mismatchNew'));
      let generation: number;
      try {
        generation = await deps.services.accounts.setPassword(user.account.id, next);
      } catch (error) {
        if (error instanceof WeakPassword) return render(ctx, user, 400, weakPasswordWords(error, translatorOf(ctx)));
        throw error;
      }
      if (body.sign_out_everywhere === SIGN_OUT_EVERYWHERE) {
        const ended = await deps.sessions.endAll(user.account.id);
        await pages.audit(ctx, user, { type: 'password.changed', details: { via: 'account', signedOutEverywhere: true, ...ended } });
        return pages.redirect(ctx, `${ACCOUNT_PAGES.signedOut}?everywhere=1&after=password`);
      }
      // every device trusted with the old password is ended; this browser proved it and chose the new one
      await rememberDevice(ctx, user.account.id, generation, deps.services.trustedDevices);
      // Only the other sessions end: "sign out everywhere" (sessions_valid_after) would end this one too.
      const others = (await deps.sessions.list(user.account.id)).filter((session) => session.uid !== user.sessionUid);
      let ended = 0;
      for (const session of others) if (await deps.sessions.end(user.account.id, session.uid)) ended += 1;
      await pages.audit(ctx, user, { type: 'password.changed', details: { via: 'account', otherSessionsEnded: ended } });
      pages.redirect(ctx, ACCOUNT_PAGES.overview, 'password-changed');
    }),
  );
}
