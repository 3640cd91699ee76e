import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { OutboxRecord } from '../../src/mail/outbox.ts';

export type { OutboxRecord } from '../../src/mail/outbox.ts';

export interface MailFilter {
  /** compared case-insensitively */
  to: string;
  subject?: RegExp;
  /** only messages sent at or after this time, e.g. to skip a link sent earlier in the same test */
  since?: Date;
}

/** Every message in the outbox directory, oldest first; none if the directory does not exist yet. */
export async function readOutbox(dir: string): Promise<OutboxRecord[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const files = names.filter((name) => name.endsWith('.json') && !name.startsWith('.')).sort();
  const messages = await Promise.all(files.map(async (name) => JSON.parse(await readFile(join(dir, name), 'utf8')) as OutboxRecord));
  // the file names sort by time already; the stable sort on sentAt keeps that order for equal times
  return messages.sort((a, b) => a.sentAt.localeCompare(b.sentAt));
}

function matches(message: OutboxRecord, filter: MailFilter): boolean {
  return (
    message.to.toLowerCase() === filter.to.toLowerCase() &&
    (filter.subject === undefined || filter.subject.test(message.subject)) &&
    (filter.since === undefined || Date.parse(message.sentAt) >= filter.since.getTime())
  );
}

/** The newest message matching `filter`, polling the outbox until one arrives or `timeoutMs` passes. */
export async function waitForMail(dir: string, filter: MailFilter, timeoutMs = 5000): Promise<OutboxRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const messages = await readOutbox(dir);
    const found = messages.filter((message) => matches(message, filter)).at(-1);
    if (found) return found;
    if (Date.now() >= deadline) {
      const seen = messages.map((message) => `${message.to}: ${message.subject}`).join('; ') || 'nothing';
      throw new Error(`no mail to ${filter.to}${filter.subject ? ` matching ${filter.subject}` : ''} within ${timeoutMs} ms (outbox has ${seen})`);
    }
    await sleep(50);
  }
}

/**
 * The first URL in the message text that starts with `prefix`: either an absolute URL prefix
 * (`http://localhost:3000/reset`) or a path (`/reset`), matched against each URL's path.
 */
export function extractLink(message: Pick<OutboxRecord, 'text'>, prefix: string): string {
  // a sentence may end right after a link: its full stop is not part of it
  const urls = (message.text.match(/https?:\/\/[^\s<>"')\]]+/g) ?? []).map((url) => url.replace(/[.,;:!?]+$/, ''));
  const link = urls.find((url) => (prefix.startsWith('/') ? new URL(url).pathname.startsWith(prefix) : url.startsWith(prefix)));
  if (!link) throw new Error(`no link starting with ${prefix} in the message (links: ${urls.join(', ') || 'none'})`);
  return link;
}
