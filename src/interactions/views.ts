import { Eta } from 'eta';
import type { PageBrand } from '../brand/page-brand.ts';
import type { ClientPresentation } from './client-presentation.ts';
import type { SignInReturn } from '../recovery/sign-in-return.ts';
import { CATALOGS } from '../pages/language/catalogs.ts';
import { DEFAULT_LANGUAGE, LANGUAGE_NAMES, LANGUAGES } from '../pages/language/languages.ts';
import { LANGUAGE_PATH, type PageLanguage } from '../pages/language/page-language.ts';
import { fileURLToPath } from 'node:url';

export const VIEWS_DIR = fileURLToPath(new URL('../../views/', import.meta.url));

export interface PageFrame {
  /** absent when the template names its page itself (`layout('./layout', { title })`) */
  title?: string;
}

/** A form a passkey ceremony submits: the engine-less half of WebAuthn, run by /assets/passkeys.js. */
export interface PasskeyForm {
  /** the ceremony's options (JSON), read by the script from a data- attribute; absent: no passkeys at this issuer */
  passkeyOptions: string | undefined;
}

export interface LoginPage extends PageFrame, PasskeyForm {
  action: string;
  /** where a passkey's assertion is posted */
  passkeyAction: string;
  /** offer passkeys in the username field's autofill (conditional mediation) */
  passkeyAutofill: boolean;
  abortAction: string;
  csrfToken: string;
  clientName: string;
  client: ClientPresentation;
  login: string;
  error?: string | undefined;
  /** links under the form; absent when the feature is off */
  resetLink?: string | undefined;
  registerLink?: string | undefined;
}

export interface SecondFactorPage extends PageFrame {
  action: string;
  abortAction: string;
  csrfToken: string;
  clientName: string;
  error?: string | undefined;
  /** true: the recovery-code form is the one shown */
  recovery: boolean;
  switchLink: string;
  /** the passkey step, when the account has a passkey */
  passkeyLink?: string | undefined;
}

export interface PasskeyStepPage extends PageFrame, PasskeyForm {
  action: string;
  abortAction: string;
  csrfToken: string;
  clientName: string;
  /** the authenticator app instead, when the account has one and the client takes it */
  totpLink?: string | undefined;
  error?: string | undefined;
}

export interface PasskeyOfferPage extends PageFrame, PasskeyForm {
  action: string;
  /** "not now": on to the application */
  skipAction: string;
  csrfToken: string;
  clientName: string;
  /** for password managers and the authenticator's dialog */
  username: string;
  error?: string | undefined;
}

export interface AccountPasskeysPage extends PageFrame, PasskeyForm {
  action: string;
  backLink: string;
  csrfToken: string;
  username: string;
  passkeys: Array<{ id: string; name: string; createdAt: DisplayTime; lastUsedAt: DisplayTime | undefined; removeLink: string }>;
  notice?: string | undefined;
  error?: string | undefined;
  /** the name typed before an error */
  name: string;
}

export interface EnrolPage extends PageFrame {
  action: string;
  abortAction: string;
  csrfToken: string;
  clientName?: string | undefined;
  /** trusted markup: the QR code rendered server-side */
  qrSvg: string;
  secret: string;
  /** the otpauth:// URI the QR code holds, as a link for the phone the page is open on */
  otpauthUri: string;
  error?: string | undefined;
}

export interface RecoveryCodesPage extends PageFrame {
  codes: string[];
  action: string;
  csrfToken: string;
  continueLabel: string;
}

export interface ConsentPage extends PageFrame {
  action: string;
  denyAction: string;
  /** leaves the signed-in account and goes back to this request's sign-in */
  switchAction: string;
  csrfToken: string;
  clientName: string;
  client: ClientPresentation;
  accountName: string;
  /** plain-language lines: what the application will receive */
  permissions: string[];
  apis: Array<{ name: string; scopes: string[] }>;
  /** set when a device asks (device authorization grant): the user code it shows */
  deviceUserCode?: string | undefined;
}

/** The device flow's first page: where a person types the code their device shows. */
export interface DeviceCodePage extends PageFrame {
  /** the engine's code-verification endpoint */
  action: string;
  /** the engine's form token for this browser's session */
  xsrf: string;
  /** prefilled from verification_uri_complete, or what was typed before an error */
  userCode: string;
  error?: string | undefined;
}

/** Before signing in: the code and the application, to be compared with the device's screen. */
export interface DeviceConfirmPage extends PageFrame {
  action: string;
  xsrf: string;
  userCode: string;
  clientName: string;
}

export interface DeviceDonePage extends PageFrame {
  outcome: 'approved' | 'denied';
  clientName?: string | undefined;
  accountLink: string;
}

export interface LogoutPage extends PageFrame {
  /** the engine's hidden confirmation form (trusted HTML: action URL and xsrf token) */
  engineForm: string;
  clientName?: string | undefined;
}

export interface LoggedOutPage extends PageFrame {
  /** the application that asked for the sign-out, or whose sign-out this was */
  clientName?: string | undefined;
  /** this browser still has a signed-in session: only the application, or nothing, was signed out */
  signedIn: boolean;
  accountLink: string;
}

export interface ErrorPage extends PageFrame {
  /** the error code; the template words it for people */
  error: string;
  /** a message Postern wrote for people (it says what to do); absent: the template's words for the code */
  description?: string | undefined;
  /** the engine's own description, for the application's developers */
  technical?: string | undefined;
  /** nothing is served at this address (the styled 404) */
  pageMissing?: boolean | undefined;
  /** the application the browser came from, when it is known */
  clientName?: string | undefined;
  /** a way back to it: only ever one of its registered redirect URIs */
  backLink?: string | undefined;
  retryAfterMinutes?: number | undefined;
  accountLink: string;
  requestId?: string | undefined;
}

export interface PageTypes {
  login: LoginPage;
  'second-factor': SecondFactorPage;
  'passkey-step': PasskeyStepPage;
  'passkey-offer': PasskeyOfferPage;
  'account-passkeys': AccountPasskeysPage;
  enrol: EnrolPage;
  'recovery-codes': RecoveryCodesPage;
  consent: ConsentPage;
  'device-code': DeviceCodePage;
  'device-confirm': DeviceConfirmPage;
  'device-done': DeviceDonePage;
  logout: LogoutPage;
  'logged-out': LoggedOutPage;
  error: ErrorPage;
  account: AccountOverviewPage;
  'account-profile': AccountProfilePage;
  'account-password': AccountPasswordPage;
  'account-sessions': AccountSessionsPage;
  'account-two-step': AccountTwoStepPage;
  'account-enrol': AccountEnrolPage;
  'account-recovery-codes': AccountRecoveryCodesPage;
  'account-applications': AccountApplicationsPage;
  'account-message': AccountMessagePage;
  'account-confirm': AccountConfirmPage;
  'account-two-step-disable': AccountTwoStepDisablePage;
  reset: ResetRequestPage;
  'reset-sent': ResetSentPage;
  'reset-password': ResetPasswordPage;
  'reset-done': PageFrame & WayOn;
  'reset-invalid': ResetInvalidPage;
  register: RegisterPage;
  'register-sent': RegisterSentPage;
  'verify-done': PageFrame & WayOn;
  'verify-invalid': PageFrame & WayOn;
}

export interface Views {
  /** The page in the request's language: templates get `t` and `html` (see Translator) and the switcher's links. */
  render<Name extends keyof PageTypes>(name: Name, data: PageTypes[Name], language: PageLanguage): string;
}

/** What every template gets besides its page's data. */
function languageData(page: PageLanguage) {
  const { translator } = page;
  return {
    t: translator.t,
    html: translator.html,
    has: (key: string) => Object.hasOwn(CATALOGS[DEFAULT_LANGUAGE], key),
    dateTime: translator.dateTime,
    lang: translator.language,
    languages: LANGUAGES.map((code) => ({
      code,
      name: LANGUAGE_NAMES[code],
      current: code === translator.language,
      href: `${LANGUAGE_PATH}?lang=${code}&return=${encodeURIComponent(page.returnTo)}${page.source === 'ui_locales' ? `&over=${translator.language}` : ''}`,
    })),
  };
}

export const DEFAULT_PAGE_BRAND: PageBrand = { name: 'Postern', logoUrl: undefined, logoType: undefined, stylesheetUrl: undefined, supportUrl: undefined };

/** Server-rendered pages through Eta, which escapes every `<%= %>` output; every page gets the operator's brand as `it.brand`. */
export function createViews(options: { cache: boolean; brand?: PageBrand | undefined }): Views {
  const eta = new Eta({ views: VIEWS_DIR, cache: options.cache, autoEscape: true, autoTrim: false });
  const brand = options.brand ?? DEFAULT_PAGE_BRAND;
  return {
    render(name, data, language) {
      return eta.render(`./${name}`, { ...data, ...languageData(language), brand });
    },
  };
}

/** A moment on the account pages: `text` for people, `iso` for the datetime attribute. */
export interface DisplayTime {
  iso: string;
  text: string;
}

export interface AccountOverviewPage extends PageFrame {
  username: string;
  name: string | null;
  email: string | null;
  emailVerified: boolean;
  twoStepEnabled: boolean;
  /** none: the page offers to add one */
  passkeyCount: number;
  sessionCount: number;
  applicationCount: number;
  notice?: string | undefined;
  links: { profile: string; password: string; twoStep: string; passkeys: string; sessions: string; applications: string; signOut: string };
}

export interface AccountProfilePage extends PageFrame {
  action: string;
  backLink: string;
  csrfToken: string;
  /** the form's fields by name, as stored or as submitted */
  values: Record<string, string>;
  phoneVerified: boolean;
  error?: string | undefined;
}

export interface AccountPasswordPage extends PageFrame {
  action: string;
  backLink: string;
  csrfToken: string;
  /** for password managers: the account the new password belongs to */
  username: string;
  minLength: number;
  /** what the "Also sign out of every application" checkbox sends when checked */
  signOutEverywhere: string;
  error?: string | undefined;
}

export interface AccountSessionsPage extends PageFrame {
  backLink: string;
  csrfToken: string;
  endAction: string;
  endAllAction: string;
  /** the engine's logout, for this browser's own session */
  signOutLink: string;
  notice?: string | undefined;
  sessions: Array<{
    uid: string;
    /** "Chrome 120 on Windows" */
    device: string;
    ip: string | undefined;
    startedAt: DisplayTime;
    lastSeenAt: DisplayTime | undefined;
    /** this browser's session */
    current: boolean;
    /** names of the applications signed in through the session */
    applications: string[];
  }>;
}

export interface AccountTwoStepPage extends PageFrame {
  backLink: string;
  csrfToken: string;
  username: string;
  enabled: boolean;
  enabledAt: DisplayTime | undefined;
  remainingCodes: number;
  enrolLink: string;
  /** the page that asks before two-step verification is turned off */
  disableLink: string;
  regenerateAction: string;
  notice?: string | undefined;
  /** why getting new recovery codes failed */
  error?: { form: 'regenerate'; text: string } | undefined;
}

/** The question a destructive action asks first: a form that posts to the action itself. */
export interface AccountConfirmPage extends PageFrame {
  kind: 'end-session' | 'end-all' | 'revoke' | 'remove-passkey';
  /** what the action applies to: the device or the application, by name */
  subject?: string | undefined;
  action: string;
  csrfToken: string;
  fields: Array<{ name: string; value: string }>;
  cancelLink: string;
}

export interface AccountTwoStepDisablePage extends PageFrame {
  action: string;
  backLink: string;
  csrfToken: string;
  username: string;
  error?: string | undefined;
}

export interface AccountEnrolPage extends PageFrame {
  action: string;
  backLink: string;
  csrfToken: string;
  username: string;
  /** trusted markup: the QR code rendered server-side */
  qrSvg: string;
  secret: string;
  otpauthUri: string;
  error?: string | undefined;
}

export interface AccountRecoveryCodesPage extends PageFrame {
  codes: string[];
  /** true when these codes replace an earlier set */
  replaced: boolean;
  doneLink: string;
}

export interface AccountApplicationsPage extends PageFrame {
  backLink: string;
  csrfToken: string;
  revokeAction: string;
  notice?: string | undefined;
  applications: Array<{
    name: string;
    /** the ids of the grants this user gave the application, space-separated (the form's value) */
    grants: string;
    permissions: string[];
    apis: Array<{ name: string; scopes: string[] }>;
    grantedAt: DisplayTime;
  }>;
}

/** A short page with one way on: signed out, a sign-in that did not finish. */
export interface AccountMessagePage extends PageFrame {
  heading: string;
  lead: string;
  link: { href: string; label: string };
}

/** Where a reset or registration page leads on: back to the sign-in it began from, or to the account pages. */
export interface WayOn {
  next?: SignInReturn | undefined;
  accountLink: string;
}

export interface ResetRequestPage extends PageFrame, WayOn {
  action: string;
  csrfToken: string;
}

/** The one answer to every reset request, whatever account it named. */
export interface ResetSentPage extends PageFrame, WayOn {
  requestLink: string;
  /** how long a link works, in words */
  ttl: string;
}

export interface ResetPasswordPage extends PageFrame {
  action: string;
  csrfToken: string;
  /** the one-time token of the mailed link, carried in a hidden field */
  token: string;
  username: string;
  minLength: number;
  error?: string | undefined;
}

export interface ResetInvalidPage extends PageFrame, WayOn {
  requestLink: string;
  ttl: string;
}

export interface RegisterPage extends PageFrame, WayOn {
  action: string;
  csrfToken: string;
  username: string;
  email: string;
  name: string;
  minLength: number;
  error?: string | undefined;
}

export interface RegisterSentPage extends PageFrame, WayOn {
  email: string;
  /** false: the account exists but the confirmation mail could not be sent */
  mailed: boolean;
  ttl: string;
}
