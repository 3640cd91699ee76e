import { createIntl, createIntlCache, type IntlShape } from '@formatjs/intl';
import { CATALOGS, type MessageKey } from './catalogs.ts';
import { DEFAULT_LANGUAGE, FORMAT_LOCALES, LANGUAGES, type Language } from './languages.ts';

export type MessageValues = Record<string, string | number | Date>;

/** The words of one language, and its way of writing dates, durations and numbers. */
export interface Translator {
  readonly language: Language;
  /** a message as plain text (templates escape it with `<%= %>`) */
  t(key: MessageKey, values?: MessageValues): string;
  /**
   * A message whose words carry markup — `<strong>`, `<em>`, `<code>`, `<time>` (with the value
   * `datetime` as its attribute) and, for each
   * entry of `links`, `<name>…</name>` as a link to that address — as HTML for `<%~ %>`: every
   * value is escaped, only these tags are made.
   */
  html(key: MessageKey, values?: MessageValues, links?: Record<string, string | { href: string; id?: string }>): string;
  /** "24 Nov 2026, 10:32 UTC" in this language */
  dateTime(date: Date): string;
  /** "5 minutes ago", "yesterday" */
  relative(date: Date, now?: Date): string;
  /** "30 minutes", "1 hour", "2 days": the largest unit that divides the duration evenly */
  duration(seconds: number): string;
  number(value: number): string;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character]!);
}

const SIMPLE_TAGS = ['strong', 'em', 'code', 'time'] as const;

const RELATIVE_UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['year', 365 * 86400],
  ['month', 30 * 86400],
  ['week', 7 * 86400],
  ['day', 86400],
  ['hour', 3600],
  ['minute', 60],
  ['second', 1],
];

function createTranslator(language: Language): Translator {
  const cache = createIntlCache();
  const intl: IntlShape<string> = createIntl(
    {
      locale: FORMAT_LOCALES[language],
      defaultLocale: FORMAT_LOCALES[DEFAULT_LANGUAGE],
      messages: CATALOGS[language],
      // a key missing from this language falls back to English (the catalog test keeps them complete);
      // a message that cannot be formatted is a bug and fails loudly
      onError(error) {
        if (error.code === 'MISSING_TRANSLATION') return;
        throw error;
      },
    },
    cache,
  );
  const format = (key: MessageKey, values?: Record<string, unknown>) =>
    intl.formatMessage({ id: key, defaultMessage: CATALOGS[DEFAULT_LANGUAGE][key] }, values as MessageValues);
  const dateTime = new Intl.DateTimeFormat(FORMAT_LOCALES[language], {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZone: 'UTC',
  });
  const relative = new Intl.RelativeTimeFormat(FORMAT_LOCALES[language], { numeric: 'auto' });
  const numbers = new Intl.NumberFormat(FORMAT_LOCALES[language]);

  return {
    language,
    t(key, values) {
      return String(format(key, values));
    },
    html(key, values = {}, links = {}) {
      const escaped: Record<string, unknown> = {};
      for (const [name, value] of Object.entries(values)) escaped[name] = typeof value === 'string' ? escapeHtml(value) : value;
      for (const tag of SIMPLE_TAGS) escaped[tag] = (chunks: string[]) => `<${tag}>${chunks.join('')}</${tag}>`;
      // `<time>` carries the machine-readable moment when one is given as `datetime`
      if (typeof values.datetime === 'string') escaped.time = (chunks: string[]) => `<time datetime="${escapeHtml(values.datetime as string)}">${chunks.join('')}</time>`;
      for (const [name, link] of Object.entries(links)) {
        const { href, id } = typeof link === 'string' ? { href: link, id: undefined } : link;
        const idAttribute = id ? ` id="${escapeHtml(id)}"` : '';
        escaped[name] = (chunks: string[]) => `<a class="inline-link"${idAttribute} href="${escapeHtml(href)}">${chunks.join('')}</a>`;
      }
      const out = format(key, escaped) as unknown;
      return Array.isArray(out) ? out.join('') : String(out);
    },
    dateTime(date) {
      return `${dateTime.format(date)} UTC`;
    },
    relative(date, now = new Date()) {
      const seconds = Math.round((date.getTime() - now.getTime()) / 1000);
      if (Math.abs(seconds) < 45) return relative.format(0, 'second');
      for (const [unit, size] of RELATIVE_UNITS) {
        if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
      }
      return relative.format(0, 'second');
    },
    duration(seconds) {
      const units: Array<[MessageKey, number]> = [['duration.days', 86400], ['duration.hours', 3600], ['duration.minutes', 60]];
      for (const [key, size] of units) {
        if (seconds >= size && seconds % size === 0) return String(format(key, { count: seconds / size }));
      }
      return seconds >= 60 ? String(format('duration.minutes', { count: Math.round(seconds / 60) })) : String(format('duration.seconds', { count: seconds }));
    },
    number(value) {
      return numbers.format(value);
    },
  };
}

const TRANSLATORS = new Map<Language, Translator>(LANGUAGES.map((language) => [language, createTranslator(language)]));

export function translatorFor(language: Language): Translator {
  return TRANSLATORS.get(language)!;
}
