import type { MailMessage } from '../mail/mailer.ts';

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character]!);
}

/** "30 minutes", "1 hour", "2 days": the largest unit that divides the duration evenly. */
export function describeDuration(seconds: number): string {
  const units: Array<[string, number]> = [['day', 86400], ['hour', 3600], ['minute', 60]];
  for (const [unit, size] of units) {
    if (seconds >= size && seconds % size === 0) {
      const count = seconds / size;
      return `${count} ${unit}${count === 1 ? '' : 's'}`;
    }
  }
  return seconds >= 60 ? `${Math.round(seconds / 60)} minutes` : `${seconds} seconds`;
}

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

function linkMail(mail: LinkMail): MailMessage {
  const text = [...mail.intro, '', `${mail.action}:`, mail.link, '', ...mail.outro, '', `— ${mail.product}`].join('\n');
  const paragraph = (line: string) => `<p>${escapeHtml(line)}</p>`;
  const html = [
    '<!doctype html><html><body style="font-family: sans-serif; line-height: 1.5">',
    ...mail.intro.map(paragraph),
    `<p><a href="${escapeHtml(mail.link)}">${escapeHtml(mail.action)}</a></p>`,
    `<p style="font-size: small">If the link does not open, copy this address into your browser:<br>${escapeHtml(mail.link)}</p>`,
    ...mail.outro.map(paragraph),
    paragraph(`— ${mail.product}`),
    '</body></html>',
  ].join('\n');
  return { to: mail.to, subject: `${mail.product}: ${mail.subject}`, text, html };
}

export function passwordResetMail(options: { to: string; product: string; username: string; site: string; link: string; ttlSeconds: number }): MailMessage {
  return linkMail({
    to: options.to,
    product: options.product,
    subject: 'Reset your password',
    intro: [`Someone asked to reset the password of the account "${options.username}" at ${options.product} (${options.site}).`],
    action: `Choose a new password (the link works once, within ${describeDuration(options.ttlSeconds)})`,
    link: options.link,
    outro: ['If this was not you, ignore this message: your password stays as it is.'],
  });
}

export function emailVerificationMail(options: { to: string; product: string; username: string; site: string; link: string; ttlSeconds: number }): MailMessage {
  return linkMail({
    to: options.to,
    product: options.product,
    subject: 'Confirm your email address',
    intro: [`An account "${options.username}" was created at ${options.product} (${options.site}) with this email address.`],
    action: `Confirm your email address (the link works once, within ${describeDuration(options.ttlSeconds)})`,
    link: options.link,
    outro: ['If this was not you, ignore this message: the address stays unconfirmed.'],
  });
}

/** To the owner of an address someone tried to register again: no account was made. */
export function registrationAttemptMail(options: { to: string; product: string; username: string; site: string; signInUrl: string; resetUrl: string }): MailMessage {
  return linkMail({
    to: options.to,
    product: options.product,
    subject: 'Someone tried to register with your email address',
    intro: [
      `Someone tried to create an account at ${options.product} (${options.site}) with this email address. It already belongs to your account "${options.username}", so no new account was made.`,
      `If it was you, sign in to your account at ${options.signInUrl}`,
    ],
    action: 'Forgot your password? Choose a new one',
    link: options.resetUrl,
    outro: ['If this was not you, ignore this message: nothing about your account has changed.'],
  });
}
