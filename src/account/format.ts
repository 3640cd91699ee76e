import type { DisplayTime } from '../interactions/views.ts';

const DATE_TIME = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
  timeZone: 'UTC',
});

/** A moment as the pages show it ("24 Nov 2026, 10:32 UTC") and as machines read it (ISO 8601). */
export function displayTime(date: Date): DisplayTime {
  return { iso: date.toISOString(), text: `${DATE_TIME.format(date)} UTC` };
}

/**
 * Messages shown after an action redirected back to a page. The address carries only the key, so
 * no text of the request ever reaches the page.
 */
export const NOTICES = {
  'profile-saved': 'Your profile was saved. Applications see the change the next time they ask.',
  'password-changed': 'Your password was changed. Your other devices were signed out.',
  'device-signed-out': 'That device was signed out.',
  'two-step-on': 'Two-step verification is on.',
  'two-step-off': 'Two-step verification is off, and your recovery codes no longer work.',
  'access-removed': 'Access removed. The application was signed out.',
} as const;

export type NoticeKey = keyof typeof NOTICES;

export function noticeFrom(query: unknown): string | undefined {
  return typeof query === 'string' && Object.hasOwn(NOTICES, query) ? NOTICES[query as NoticeKey] : undefined;
}
