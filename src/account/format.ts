import type { DisplayTime } from '../interactions/views.ts';
import type { MessageKey } from '../pages/language/catalogs.ts';
import type { Translator } from '../pages/language/translator.ts';

/** A moment as the pages show it ("24 Nov 2026, 10:32 UTC" in the reader's language) and as machines read it (ISO 8601). */
export function displayTime(date: Date, translator: Translator): DisplayTime {
  return { iso: date.toISOString(), text: translator.dateTime(date) };
}

/** A recent moment as people say it ("5 minutes ago", "yesterday"), with its ISO 8601 form. */
export function displayRecentTime(date: Date, translator: Translator, now = new Date()): DisplayTime {
  return { iso: date.toISOString(), text: translator.relative(date, now) };
}

/**
 * Messages shown after an action redirected back to a page. The address carries only the key, so
 * no text of the request ever reaches the page.
 */
export const NOTICES = {
  'profile-saved': 'notice.profile-saved',
  'password-changed': 'notice.password-changed',
  'device-signed-out': 'notice.device-signed-out',
  'two-step-on': 'notice.two-step-on',
  'two-step-off': 'notice.two-step-off',
  'access-removed': 'notice.access-removed',
  'passkey-added': 'notice.passkey-added',
  'passkey-removed': 'notice.passkey-removed',
} as const satisfies Record<string, MessageKey>;

export type NoticeKey = keyof typeof NOTICES;

export function noticeFrom(query: unknown, translator: Translator): string | undefined {
  return typeof query === 'string' && Object.hasOwn(NOTICES, query) ? translator.t(NOTICES[query as NoticeKey]) : undefined;
}
