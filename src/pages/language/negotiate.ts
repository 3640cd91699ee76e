import { isLanguage, type Language } from './languages.ts';

/**
 * The first supported language of a list of BCP 47 tags in order of preference, such as
 * `ui_locales` (OpenID Connect Core §3.1.2.1): a tag matches exactly or by its primary subtag
 * (de-AT → de).
 */
export function firstSupported(tags: readonly string[]): Language | undefined {
  for (const tag of tags) {
    const lower = tag.trim().toLowerCase();
    if (isLanguage(lower)) return lower;
    const primary = lower.split('-')[0];
    if (isLanguage(primary)) return primary;
  }
  return undefined;
}

/** `ui_locales` is space-separated; anything else (absent, not a string) names no language. */
export function fromUiLocales(value: unknown): Language | undefined {
  if (typeof value !== 'string') return undefined;
  return firstSupported(value.split(/\s+/u).filter(Boolean).slice(0, 20));
}
