import { InvalidRequest } from '../domain/errors.ts';

export interface MailMessage {
  /** one bare address, `user@example.com` */
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** the language it is written in (BCP 47), sent as Content-Language */
  language?: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
}

// A list, a display name or a line break here would let one message reach a second mailbox.
const SINGLE_ADDRESS = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+$/u;
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/u;

/** Refuses anything but one bare address, so a stored email can never widen who receives a link. */
export function assertSingleAddress(to: string): void {
  if (!SINGLE_ADDRESS.test(to) || CONTROL_CHARACTER.test(to)) {
    throw new InvalidRequest('the recipient must be one email address');
  }
}

/** What logs may say about a recipient: the domain, never the mailbox. */
export function recipientDomain(to: string): string {
  return to.slice(to.lastIndexOf('@') + 1).toLowerCase();
}
