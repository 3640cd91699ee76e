import type { Account, Accounts } from '../domain/accounts.ts';
import type { AuditLog } from '../domain/audit.ts';
import { IdentifierTaken, InvalidRequest, WeakPassword } from '../domain/errors.ts';
import type { Logger } from '../logger.ts';
import type { Mailer, MailMessage } from '../mail/mailer.ts';
import { assertSingleAddress } from '../mail/message.ts';
import type { AccountTokens } from './account-tokens.ts';
import { emailVerificationMail, registrationAttemptMail } from './mail-messages.ts';
import type { Translator } from '../pages/language/translator.ts';
import { weakPasswordWords } from '../pages/language/password-words.ts';
import type { RequestOrigin } from './password-reset.ts';

export interface RegistrationForm {
  username: string;
  email: string;
  name: string;
  password: string;
}

/**
 * `accepted` is the answer both for a new account and for an email address that has one already
 * (its owner is told by mail): the page says "check your email" either way.
 */
export type RegistrationOutcome = { status: 'accepted'; mailed: boolean } | { status: 'refused'; message: string };

export interface RegistrationOptions {
  accounts: Accounts;
  tokens: AccountTokens;
  audit: AuditLog;
  mailer: Mailer;
  /** `${issuer}/register/verify`: the mailed link is this with `?token=` */
  verifyUrl: string;
  /** where the owner of a taken address signs in, and resets a forgotten password */
  signInUrl: string;
  resetUrl: string;
  site: string;
  /** the product name mails are signed with */
  product: string;
  ttlSeconds: number;
}

/**
 * A registration form cannot hide that a username is in use (it could not otherwise refuse it).
 * An email address in use is never said: the form answers as for a new account, and the mail goes
 * to the address's owner.
 */

const MAX_NAME_LENGTH = 200;

/** The domain's messages are terse ("email is not a valid address"); a page shows sentences. */
function sentence(message: string): string {
  const capitalised = message.charAt(0).toUpperCase() + message.slice(1);
  return /[.!?]$/.test(capitalised) ? capitalised : `${capitalised}.`;
}

/** Whether the mailer would send to this address (the account's own format check is looser). */
function deliverable(email: string): boolean {
  try {
    assertSingleAddress(email);
    return true;
  } catch {
    return false;
  }
}

/** Self-service accounts: created unconfirmed, the email address confirmed through a mailed link. */
export class Registration {
  readonly #options: RegistrationOptions;

  constructor(options: RegistrationOptions) {
    this.#options = options;
  }

  get ttlSeconds(): number {
    return this.#options.ttlSeconds;
  }

  async register(form: RegistrationForm, origin: RequestOrigin, log: Logger, translator: Translator): Promise<RegistrationOutcome> {
    const { accounts, tokens, audit } = this.#options;
    const { t } = translator;
    if (form.email.trim() === '') return { status: 'refused', message: t('register.emailMissing') };
    if (!deliverable(form.email.trim())) return { status: 'refused', message: t('register.emailInvalid') };
    if (form.name.length > MAX_NAME_LENGTH) return { status: 'refused', message: t('register.nameTooLong', { max: MAX_NAME_LENGTH }) };
    let account: Account;
    try {
      account = await accounts.create({ username: form.username, email: form.email, name: form.name.trim() || undefined, emailVerified: false }, form.password);
    } catch (error) {
      if (error instanceof IdentifierTaken && error.identifier === 'email') return this.#tellOwner(form.email.trim(), origin, log, translator);
      if (error instanceof IdentifierTaken) return { status: 'refused', message: t('register.usernameTaken') };
      if (error instanceof WeakPassword) return { status: 'refused', message: weakPasswordWords(error, translator) };
      if (error instanceof InvalidRequest) return { status: 'refused', message: sentence(error.message) };
      throw error;
    }
    await audit.record({ type: 'account.registered', accountId: account.id, ip: origin.ip, userAgent: origin.userAgent });
    const token = await tokens.issue(account.id, 'email_verification', this.#options.ttlSeconds);
    const { verifyUrl, site, product, ttlSeconds } = this.#options;
    const mail = emailVerificationMail({ to: account.email!, username: account.username, site, product, link: `${verifyUrl}?token=${token}`, ttlSeconds }, translator);
    return { status: 'accepted', mailed: await this.#send(mail, account.id, log) };
  }

  /**
   * The address belongs to an account: nothing is created, and its owner learns of the attempt
   * with the way back into that account. The caller answers exactly as for a new account.
   */
  async #tellOwner(email: string, origin: RequestOrigin, log: Logger, translator: Translator): Promise<RegistrationOutcome> {
    const owner = await this.#options.accounts.findByEmail(email);
    // the account was deleted since the insert failed: no one to tell, and trying again will work
    if (!owner?.email) return { status: 'accepted', mailed: false };
    await this.#options.audit.record({ type: 'registration.email_taken', accountId: owner.id, ip: origin.ip, userAgent: origin.userAgent });
    const { signInUrl, resetUrl, site, product } = this.#options;
    const mail = registrationAttemptMail({ to: owner.email, username: owner.username, site, product, signInUrl, resetUrl }, translator);
    return { status: 'accepted', mailed: await this.#send(mail, owner.id, log) };
  }

  /** What was done stays done whatever happens to the mail: a failure is logged and shown, not thrown. */
  async #send(mail: MailMessage, accountId: string, log: Logger): Promise<boolean> {
    try {
      await this.#options.mailer.send(mail);
      return true;
    } catch (error) {
      log.error({ accountId, subject: mail.subject, reason: (error as Error).message }, 'registration mail could not be sent');
      return false;
    }
  }

  /** Confirms the address the link was sent to; undefined when the link is not usable. */
  async verify(token: string, origin: RequestOrigin): Promise<string | undefined> {
    const { accounts, tokens, audit } = this.#options;
    const accountId = await tokens.consume(token, 'email_verification');
    if (accountId === undefined) return undefined;
    await accounts.markEmailVerified(accountId);
    await tokens.expireAll(accountId, 'email_verification');
    await audit.record({ type: 'email.verified', accountId, ip: origin.ip, userAgent: origin.userAgent });
    return accountId;
  }
}
