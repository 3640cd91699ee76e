import type { MailMessage } from '../mail/mailer.ts';
import { escapeHtml, type Translator } from '../pages/language/translator.ts';

interface LinkMail {
  to: string;
  /** the operator's product name: the subject's prefix and the signature */
  product: string;
  subject: string;
  /** plain sentences before the link */
  intro: string[];
  link: string;
  action: string;
  /** plain sentences after the link */
  outro: string[];
}

/** The product name with the host it is served from: "Acme ID (id.acme.example)". */
const where = (options: { product: string; site: string }) => `${options.product} (${options.site})`;

function linkMail(mail: LinkMail, translator: Translator): MailMessage {
  const text = [...mail.intro, '', `${mail.action}:`, mail.link, '', ...mail.outro, '', `— ${mail.product}`].join('\n');
  const paragraph = (line: string) => `<p>${escapeHtml(line)}</p>`;
  const html = [
    `<!doctype html><html lang="${translator.language}"><body style="font-family: sans-serif; line-height: 1.5">`,
    ...mail.intro.map(paragraph),
    `<p><a href="${escapeHtml(mail.link)}">${escapeHtml(mail.action)}</a></p>`,
    `<p style="font-size: small">${escapeHtml(translator.t('mail.copyLink'))}<br>${escapeHtml(mail.link)}</p>`,
    ...mail.outro.map(paragraph),
    paragraph(`— ${mail.product}`),
    '</body></html>',
  ].join('\n');
  return { to: mail.to, subject: `${mail.product}: ${mail.subject}`, text, html, language: translator.language };
}

export function passwordResetMail(options: { to: string; product: string; username: string; site: string; link: string; ttlSeconds: number }, translator: Translator): MailMessage {
  const { t } = translator;
  return linkMail({
    to: options.to,
    product: options.product,
    subject: t('mail.reset.subject'),
    intro: [t('mail.reset.intro', { username: options.username, site: where(options) })],
    action: t('mail.reset.action', { ttl: translator.duration(options.ttlSeconds) }),
    link: options.link,
    outro: [t('mail.reset.outro')],
  }, translator);
}

export function emailVerificationMail(options: { to: string; product: string; username: string; site: string; link: string; ttlSeconds: number }, translator: Translator): MailMessage {
  const { t } = translator;
  return linkMail({
    to: options.to,
    product: options.product,
    subject: t('mail.verify.subject'),
    intro: [t('mail.verify.intro', { username: options.username, site: where(options) })],
    action: t('mail.verify.action', { ttl: translator.duration(options.ttlSeconds) }),
    link: options.link,
    outro: [t('mail.verify.outro')],
  }, translator);
}

/** To the owner of an address someone tried to register again: no account was made. */
export function registrationAttemptMail(options: { to: string; product: string; username: string; site: string; signInUrl: string; resetUrl: string }, translator: Translator): MailMessage {
  const { t } = translator;
  return linkMail({
    to: options.to,
    product: options.product,
    subject: t('mail.attempt.subject'),
    intro: [t('mail.attempt.intro', { site: where(options), username: options.username }), t('mail.attempt.signIn', { url: options.signInUrl })],
    action: t('mail.attempt.action'),
    link: options.resetUrl,
    outro: [t('mail.attempt.outro')],
  }, translator);
}
