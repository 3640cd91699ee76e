import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MailMessage } from './message.ts';

/** One outgoing message as written to the outbox directory. */
export interface OutboxRecord {
  to: string;
  from: string;
  subject: string;
  text: string;
  html: string | null;
  /** the language it is written in (BCP 47); null when not said */
  language: string | null;
  /** ISO 8601 */
  sentAt: string;
}

/**
 * Writes the message as `<sentAt>-<random>.json` (colons in the time become dashes so the name is
 * valid everywhere). The file appears whole or not at all: a reader polling the directory never
 * sees half a message. Messages carry one-time links, so the directory is 0700 and files 0600.
 */
export async function writeToOutbox(dir: string, from: string, message: MailMessage, sentAt = new Date()): Promise<string> {
  const record: OutboxRecord = {
    to: message.to,
    from,
    subject: message.subject,
    text: message.text,
    html: message.html ?? null,
    language: message.language ?? null,
    sentAt: sentAt.toISOString(),
  };
  const name = `${record.sentAt.replaceAll(':', '-')}-${randomBytes(6).toString('hex')}.json`;
  const temporary = join(dir, `.${name}.tmp`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    await writeFile(temporary, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    await rename(temporary, join(dir, name));
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return join(dir, name);
}
