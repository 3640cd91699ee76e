import type { MailSettings, RunMode } from '../config.ts';
import type { Logger } from '../logger.ts';
import { assertSingleAddress, recipientDomain, type Mailer, type MailMessage } from './message.ts';
import { writeToOutbox } from './outbox.ts';
import { createSmtpSender } from './smtp.ts';

export type { Mailer, MailMessage } from './message.ts';

/**
 * Mail for password-reset and verification links. With SMTP configured, messages go there; with an
 * outbox directory, every message is also written there, whatever SMTP does. Without SMTP, a message
 * is not delivered: development logs it, body included, and production and test log only that it
 * was dropped (the body carries a one-time link).
 */
export function createMailer(settings: MailSettings, mode: RunMode, logger: Logger): Mailer {
  const log = logger.child({ component: 'mail' });
  const sendSmtp = settings.smtpUrl ? createSmtpSender(settings.smtpUrl, settings.from, log) : undefined;
  if (!sendSmtp && !settings.outboxDir && mode === 'production') {
    log.warn('no SMTP configured (POSTERN_SMTP_URL): password reset and email verification mail will not be delivered');
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

      if (sendSmtp) {
        await sendSmtp(message);
      } else if (mode === 'development') {
        // A developer without SMTP needs the link to continue; `mail.text` is deliberately outside
        // the logger's redaction paths. Only development does this: elsewhere the link is a secret.
        log.info({ mail: { to: message.to, subject: message.subject, text: message.text } }, 'mail not sent: no SMTP configured; message follows');
      } else {
        log.warn({ toDomain: recipientDomain(message.to) }, 'mail not sent: no SMTP configured');
      }

      if (outboxFailure !== undefined) throw outboxFailure;
    },
  };
}
