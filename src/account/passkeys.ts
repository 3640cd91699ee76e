import type Router from '@koa/router';
import type { Context } from 'koa';
import { PasskeyRefused } from '../domain/passkeys.ts';
import { csrfToken } from '../http/csrf.ts';
import { displayRecentTime, displayTime, noticeFrom } from './format.ts';
import type { AccountPageDependencies, AccountPages } from './pages.ts';
import { ACCOUNT_PAGES, route } from './paths.ts';
import type { Reauthentication } from './reauthentication.ts';
import type { SignedInUser } from './signed-in.ts';
import { languageOf, translatorOf } from '../pages/language/page-language.ts';

/** The ceremony an account's registration challenge belongs to: one at a time per account. */
export const registrationCeremony = (accountId: string) => `register:${accountId}`;

/**
 * Passkeys on /account: the list (name, added, last used), adding one (a WebAuthn registration
 * with the current password, so that a borrowed session cannot tie the account to a stranger's
 * device), and removing one (asked first, on its own page: confirmations.ts).
 */
export function passkeyRoutes(router: Router, deps: AccountPageDependencies, pages: AccountPages, reauth: Reauthentication): void {
  const { passkeys } = deps.services;

  async function render(ctx: Context, user: SignedInUser, status: number, error?: string, name = '') {
    const translator = translatorOf(ctx);
    const list = await passkeys.list(user.account.id);
    const options = passkeys.available ? await passkeys.registrationOptions(registrationCeremony(user.account.id), user.account) : undefined;
    pages.html(
      ctx,
      status,
      deps.views.render('account-passkeys', {
        title: translator.t('passkeys.title'),
        action: ACCOUNT_PAGES.passkeys,
        backLink: ACCOUNT_PAGES.overview,
        csrfToken: csrfToken(ctx),
        username: user.account.username,
        passkeyOptions: options && JSON.stringify(options),
        passkeys: list.map((passkey) => ({
          id: passkey.id,
          name: passkey.name,
          createdAt: displayTime(passkey.createdAt, translator),
          lastUsedAt: passkey.lastUsedAt ? displayRecentTime(passkey.lastUsedAt, translator) : undefined,
          removeLink: `${ACCOUNT_PAGES.removePasskey}?passkey=${encodeURIComponent(passkey.id)}`,
        })),
        notice: error ? undefined : noticeFrom(ctx.query.notice, translator),
        error,
        name,
      }, languageOf(ctx)),
    );
  }

  router.get(route(ACCOUNT_PAGES.passkeys), pages.signedIn((ctx, user) => render(ctx, user, 200)));

  router.post(
    route(ACCOUNT_PAGES.passkeys),
    ...pages.form,
    pages.signedIn(async (ctx, user) => {
      const body = ctx.request.body as Record<string, unknown>;
      const name = typeof body.name === 'string' ? body.name.trim().slice(0, 64) : '';
      const verdict = await reauth.password(ctx, user, body.password, 'add_passkey');
      if (!verdict.ok) return render(ctx, user, 401, verdict.message, name);
      try {
        const passkey = await passkeys.register(registrationCeremony(user.account.id), user.account.id, body.response, name || translatorOf(ctx).t('passkeys.defaultName'));
        await pages.audit(ctx, user, { type: 'passkey.registered', details: { credential: passkey.id, name: passkey.name, deviceType: passkey.deviceType } });
      } catch (error) {
        if (!(error instanceof PasskeyRefused)) throw error;
        await pages.audit(ctx, user, { type: 'passkey.registration_failed', details: { reason: error.reason } });
        return render(ctx, user, 400, translatorOf(ctx).t('passkeys.refused'), name);
      }
      pages.redirect(ctx, ACCOUNT_PAGES.passkeys, 'passkey-added');
    }),
  );

  router.post(
    route(ACCOUNT_PAGES.removePasskey),
    ...pages.form,
    pages.signedIn(async (ctx, user) => {
      const id = (ctx.request.body as Record<string, unknown>).passkey;
      if (typeof id === 'string' && id.length <= 1024 && (await passkeys.remove(user.account.id, id))) {
        await pages.audit(ctx, user, { type: 'passkey.removed', details: { credential: id } });
      }
      // one already gone is no error: a second click, another tab
      pages.redirect(ctx, ACCOUNT_PAGES.passkeys, 'passkey-removed');
    }),
  );
}
