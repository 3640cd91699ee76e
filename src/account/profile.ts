import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Account, AccountProfileChanges } from '../domain/accounts.ts';
import { InvalidRequest } from '../domain/errors.ts';
import type { AddressClaim } from '../domain/profile-claims.ts';
import { csrfToken } from '../http/csrf.ts';
import type { AccountPageDependencies, AccountPages } from './pages.ts';
import { ACCOUNT_PAGES, route } from './paths.ts';
import type { SignedInUser } from './signed-in.ts';
import { languageOf, translatorOf } from '../pages/language/page-language.ts';

/** The form's fields, each a claim a person would keep up to date themselves. */
const FIELDS = ['name', 'given_name', 'family_name', 'middle_name', 'nickname', 'website', 'picture', 'profile', 'gender', 'birthdate', 'zoneinfo', 'locale', 'phone_number'] as const;
const ADDRESS = ['street_address', 'locality', 'region', 'postal_code', 'country'] as const;

type FormValues = Record<(typeof FIELDS)[number] | `address_${(typeof ADDRESS)[number]}`, string>;

function formValues(account: Account): FormValues {
  const values = {} as FormValues;
  const current: Record<string, unknown> = { ...account.profile, name: account.name, given_name: account.givenName, family_name: account.familyName };
  for (const field of FIELDS) values[field] = typeof current[field] === 'string' ? (current[field] as string) : '';
  for (const field of ADDRESS) values[`address_${field}`] = account.profile.address?.[field] ?? '';
  return values;
}

function submitted(body: Record<string, unknown>): FormValues {
  const values = {} as FormValues;
  const read = (key: string) => (typeof body[key] === 'string' ? (body[key] as string) : '');
  for (const field of FIELDS) values[field] = read(field);
  for (const field of ADDRESS) values[`address_${field}`] = read(`address_${field}`);
  return values;
}

function changesFrom(values: FormValues, account: Account): AccountProfileChanges {
  const changes: Record<string, string | null | AddressClaim> = {};
  for (const field of FIELDS) changes[field] = values[field].trim() === '' ? null : values[field];
  const address: AddressClaim = {};
  for (const field of ADDRESS) if (values[`address_${field}`].trim() !== '') address[field] = values[`address_${field}`];
  // a formatted address set elsewhere (CLI, admin API) is kept unless the parts change
  const formatted = account.profile.address?.formatted;
  const partsChanged = ADDRESS.some((field) => (account.profile.address?.[field] ?? '') !== values[`address_${field}`].trim());
  if (formatted && !partsChanged) address.formatted = formatted;
  changes.address = Object.keys(address).length > 0 ? address : null;
  return changes as AccountProfileChanges;
}

/**
 * The user's own profile: the standard claims applications receive with the profile, phone and
 * address scopes. A changed phone number is unverified until someone who can verify it says so.
 */
export function profileRoutes(router: Router, deps: AccountPageDependencies, pages: AccountPages): void {
  function render(ctx: Context, user: SignedInUser, status: number, values: FormValues, error?: string) {
    pages.html(
      ctx,
      status,
      deps.views.render('account-profile', {
        title: translatorOf(ctx).t('profile.title'),
        action: ACCOUNT_PAGES.profile,
        backLink: ACCOUNT_PAGES.overview,
        csrfToken: csrfToken(ctx),
        values,
        phoneVerified: user.account.profile.phone_number_verified === true && values.phone_number === (user.account.profile.phone_number ?? ''),
        error,
      }, languageOf(ctx)),
    );
  }

  router.get(route(ACCOUNT_PAGES.profile), pages.signedIn(async (ctx, user) => render(ctx, user, 200, formValues(user.account))));

  router.post(
    route(ACCOUNT_PAGES.profile),
    ...pages.form,
    pages.signedIn(async (ctx, user) => {
      const values = submitted(ctx.request.body as Record<string, unknown>);
      try {
        await deps.services.accounts.updateProfile(user.account.id, changesFrom(values, user.account));
      } catch (error) {
        if (error instanceof InvalidRequest) return render(ctx, user, 400, values, error.message);
        throw error;
      }
      await pages.audit(ctx, user, { type: 'account.profile_updated', details: { via: 'account' } });
      pages.redirect(ctx, ACCOUNT_PAGES.overview, 'profile-saved');
    }),
  );
}
