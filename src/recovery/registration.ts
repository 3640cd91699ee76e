import type { Account, Accounts } from '../domain/accounts.ts';
import type { AuditLog } from '../domain/audit.ts';
import { Conflict, InvalidRequest, WeakPassword } from '../domain/errors.ts';
import type { Logger } from '../logger.ts';
import type { Mailer } from '../mail/mailer.ts';
import { assertSingleAddress } from '../mail/message.ts';
import type { AccountTokens } from './account-tokens.ts';
import { emailVerificationMail } from './mail-messages.ts';
import type { RequestOrigin } from './password-reset.ts';

export interface RegistrationForm {
  username: string;
  email: string;
  name: string;
  password: string;
}

export type RegistrationOutcome =
  | { status: 'created'; account: Account; mailed: boolean }
  | { status: 'refused'; message: string };

export interface RegistrationOptions {
  accounts: Accounts;
  tokens: AccountTokens;
  audit: AuditLog;
  mailer: Mailer;
  /** `${issuer}/register/verify`: the mailed link is this with `?token=` */
  verifyUrl: string;
  site: string;
  ttlSeconds: number;
}

/**
 * Registration names the conflict without saying which of the two identifiers is taken. A
 * registration form cannot hide that a username is in use (it could not otherwise refuse it);
 * saying no more than that keeps it from confirming an email address on its own.
 */
export const ACCOUNT_EXISTS = 'An account with this username or email address already exists. If it is yours, sign in or reset your password.';

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

  async register(form: RegistrationForm, origin: RequestOrigin, log: Logger): Promise<RegistrationOutcome> {
    const { accounts, tokens, audit } = this.#options;
    if (form.email.trim() === '') return { status: 'refused', message: 'Enter your email address: the link to confirm it is sent there.' };
    if (!deliverable(form.email.trim())) return { status: 'refused', message: 'Enter one email address, like name@example.com.' };
    if (form.name.length > MAX_NAME_LENGTH) return { status: 'refused', message: `Use at most ${MAX_NAME_LENGTH} characters for your name.` };
    let account: Account;
    try {
      account = await accounts.create({ username: form.username, email: form.email, name: form.name.trim() || undefined, emailVerified: false }, form.password);
    } catch (error) {
      if (error instanceof Conflict) return { status: 'refused', message: ACCOUNT_EXISTS };
      if (error instanceof WeakPassword || error instanceof InvalidRequest) return { status: 'refused', message: sentence(error.message) };
      throw error;
    }
    await audit.record({ type: 'account.registered', accountId: account.id, ip: origin.ip, userAgent: origin.userAgent });
    const token = await tokens.issue(account.id, 'email_verification', this.#options.ttlSeconds);
    const mailed = await this.#sendVerification(account, token, log);
    return { status: 'created', account, mailed };
  }

  /** The account is there whatever happens to the mail: a failure is logged and shown, not thrown. */
  async #sendVerification(account: Account, token: string, log: Logger): Promise<boolean> {
    const { mailer, verifyUrl, site, ttlSeconds } = this.#options;
    try {
      await mailer.send(emailVerificationMail({ to: account.email!, username: account.username, site, link: `${verifyUrl}?token=${token}`, ttlSeconds }));
      return true;
    } catch (error) {
      log.error({ accountId: account.id, reason: (error as Error).message }, 'email verification mail could not be sent');
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
