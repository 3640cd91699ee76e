import type { Context } from 'koa';
import { fromUiLocales } from './negotiate.ts';
import { DEFAULT_LANGUAGE, isLanguage, LANGUAGES, type Language } from './languages.ts';
import { translatorFor, type Translator } from './translator.ts';

/**
 * The cookie the language switcher sets: `fr`, or `fr~de` when the person picked French on a page
 * an application had asked to be German (ui_locales=de): from then on French outranks that request.
 */
export const LANGUAGE_COOKIE = 'postern.lang';

/** Where the switcher's links lead: `?lang=<code>&return=<this page>[&over=<the language ui_locales chose>]`. */
export const LANGUAGE_PATH = '/language';

/** How the language of this response was chosen, most specific first. */
export type LanguageSource = 'ui_locales' | 'cookie' | 'accept-language' | 'default';

export interface PageLanguage {
  translator: Translator;
  source: LanguageSource;
  /** the address the switcher brings the browser back to: this page, as a GET */
  returnTo: string;
}

export interface LanguageChoice {
  language: Language;
  /** the language of an application's ui_locales the person turned down when choosing this one */
  overrules?: Language | undefined;
}

export function formatChoice(choice: LanguageChoice): string {
  return choice.overrules && choice.overrules !== choice.language ? `${choice.language}~${choice.overrules}` : choice.language;
}

export function parseChoice(value: string | undefined): LanguageChoice | undefined {
  const [language, overrules] = (value ?? '').split('~');
  if (!isLanguage(language)) return undefined;
  return { language, overrules: isLanguage(overrules) ? overrules : undefined };
}

/** The switcher's choice, then Accept-Language (q-values, de-AT → de), then English. */
export function negotiateLanguage(ctx: Context): { language: Language; source: LanguageSource } {
  const choice = parseChoice(ctx.cookies.get(LANGUAGE_COOKIE));
  if (choice) return { language: choice.language, source: 'cookie' };
  // without the header `accepts` offers the first: the default, chosen by nobody
  if (ctx.get('Accept-Language').trim() !== '') {
    const accepted = ctx.acceptsLanguages(...LANGUAGES);
    if (isLanguage(accepted)) return { language: accepted, source: 'accept-language' };
  }
  return { language: DEFAULT_LANGUAGE, source: 'default' };
}

function pageAddress(ctx: Context): string {
  return ctx.method === 'GET' || ctx.method === 'HEAD' ? ctx.originalUrl : ctx.path;
}

/** This request's language; the `language` middleware chooses it before any page is rendered. */
export function languageOf(ctx: Context): PageLanguage {
  const chosen = ctx.state.language as PageLanguage | undefined;
  if (chosen) return chosen;
  const { language, source } = negotiateLanguage(ctx);
  const page: PageLanguage = { translator: translatorFor(language), source, returnTo: pageAddress(ctx) };
  ctx.state.language = page;
  return page;
}

/** The translator of this request, for words composed in code (errors, notices, emails). */
export function translatorOf(ctx: Context): Translator {
  return languageOf(ctx).translator;
}

/**
 * The authorization request's `ui_locales`, when it names a supported language, outranks the
 * switcher and the browser: the application knows what language its user reads. Only a switcher
 * choice made against that very language outranks it (the person said no to it on its page).
 * `returnTo` names the GET page a form post belongs to.
 */
export function useRequestLanguage(ctx: Context, uiLocales: unknown, returnTo?: string): PageLanguage {
  const page = languageOf(ctx);
  const requested = fromUiLocales(uiLocales);
  const overruled = requested !== undefined && parseChoice(ctx.cookies.get(LANGUAGE_COOKIE))?.overrules === requested;
  const updated: PageLanguage = requested && !overruled ? { ...page, translator: translatorFor(requested), source: 'ui_locales' } : { ...page };
  if (returnTo) updated.returnTo = returnTo;
  ctx.state.language = updated;
  return updated;
}
