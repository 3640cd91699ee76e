import type { MailSettings, RunMode } from '../config.ts';
import type { Logger } from '../logger.ts';
import { assertSingleAddress, recipientDomain, type Mailer, type MailMessage } from './message.ts';
import { writeToOutbox } from './outbox.ts';
import { createSmtpSender } from './smtp.ts';

export type { Mailer, MailMessage } from './message.ts';

/**
 * Mail for password-reset and verification links. With SMTP configured, messages go there; with an
 * outbox directory, every message is also written there, whatever SMTP does. Without SMTP, a message
 * is not delivered and the log says only that (the body carries a one-time link), in every mode,
 * unless `logLinks` (POSTERN_MAIL_LOG_LINKS) asks for the text in the log.
 */
export function createMailer(settings: MailSettings, mode: RunMode, logger: Logger): Mailer {
  const log = logger.child({ component: 'mail' });
  const sendSmtp = settings.smtpUrl ? createSmtpSender(settings.smtpUrl, settings.from, log) : undefined;
  if (!sendSmtp && !settings.outboxDir && mode === 'production') {
    log.warn('no SMTP configured (POSTERN_SMTP_URL): password reset and email verification mail will not be delivered');
  }
  if (settings.logLinks && mode === 'production') {
    log.warn('POSTERN_MAIL_LOG_LINKS is on: every message, one-time links included, is written to the log');
  }

  return {
    async send(message: MailMessage): Promise<void> {
      assertSingleAddress(message.to);
      let outboxFailure: unknown;
      if (settings.outboxDir) {
        try {
          await writeToOutbox(settings.outboxDir, settings.from, message);
        } catch (error) {
          log.error({ toDomain: recipientDomain(message.to), reason: (error as Error).message }, 'mail could not be written to the outbox');
          outboxFailure = error;
        }
      }

      if (sendSmtp) await sendSmtp(message);
      if (settings.logLinks) {
        // asked for by the operator; `mail.text` is deliberately outside the logger's redaction paths
        const mail = { to: message.to, subject: message.subject, text: message.text };
        log.info({ mail }, sendSmtp ? 'mail sent; message follows' : 'mail not sent: no SMTP configured; message follows');
      } else if (!sendSmtp) {
        log.warn({ toDomain: recipientDomain(message.to), hint: 'POSTERN_MAIL_OUTBOX or POSTERN_MAIL_LOG_LINKS=true shows messages without SMTP' }, 'mail not sent: no SMTP configured');
      }

      if (outboxFailure !== undefined) throw outboxFailure;
    },
  };
}
