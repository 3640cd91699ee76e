import { createTransport } from 'nodemailer';
import { MailDeliveryFailed } from '../domain/errors.ts';
import type { Logger } from '../logger.ts';
import { recipientDomain, type MailMessage } from './message.ts';

/** The fields nodemailer attaches to its errors that say what went wrong without repeating what was sent. */
interface SmtpFailure {
  code?: unknown;
  responseCode?: unknown;
  command?: unknown;
  response?: unknown;
  message?: unknown;
}

// A sign-in page waits on this: fail within seconds rather than nodemailer's minutes.
const TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, dnsTimeout: 10_000, socketTimeout: 30_000 };

// `command` can carry the AUTH payload (base64 credentials): keep the verb and the mechanism only.
const COMMAND_VERB = /^(?:AUTH (?:PLAIN|LOGIN|CRAM-MD5|XOAUTH2)|[A-Z]+)/;

/**
 * Sends through the SMTP server named by `smtpUrl` (smtp:// upgrades with STARTTLS when offered,
 * smtps:// is TLS from the start; query parameters such as `?requireTLS=true` become nodemailer
 * options). The URL carries credentials, so neither it nor nodemailer's error object is ever logged:
 * only the reply code, the command verb and a scrubbed reply.
 */
export function createSmtpSender(smtpUrl: string, from: string, logger: Logger): (message: MailMessage) => Promise<void> {
  const url = new URL(smtpUrl);
  const secrets = [smtpUrl, url.password, decode(url.password), url.username, decode(url.username)].filter((s) => s.length > 0);
  const transport = createTransport({ url: smtpUrl, ...TIMEOUTS, disableFileAccess: true, disableUrlAccess: true, logger: false });
  const server = { host: url.hostname, port: url.port || (url.protocol === 'smtps:' ? '465' : '587') };

  return async (message) => {
    try {
      await transport.sendMail({ from, to: message.to, subject: message.subject, text: message.text, html: message.html, ...(message.language ? { headers: { 'Content-Language': message.language } } : {}) });
    } catch (caught) {
      const failure = (caught ?? {}) as SmtpFailure;
      logger.error(
        {
          toDomain: recipientDomain(message.to),
          smtp: {
            ...server,
            errorCode: typeof failure.code === 'string' ? failure.code : undefined,
            responseCode: typeof failure.responseCode === 'number' ? failure.responseCode : undefined,
            command: typeof failure.command === 'string' ? COMMAND_VERB.exec(failure.command)?.[0] : undefined,
            reason: scrub(typeof failure.response === 'string' ? failure.response : String(failure.message ?? caught), secrets),
          },
        },
        'mail delivery failed',
      );
      throw new MailDeliveryFailed();
    }
    logger.info({ toDomain: recipientDomain(message.to) }, 'mail sent');
  };
}

function decode(component: string): string {
  try {
    return decodeURIComponent(component);
  } catch {
    return component;
  }
}

function scrub(text: string, secrets: string[]): string {
  let scrubbed = text;
  // longest first, so the URL goes before the password it contains
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) scrubbed = scrubbed.replaceAll(secret, '[secret]');
  return scrubbed.slice(0, 300);
}
