import type { Accounts } from '../domain/accounts.ts';
import type { AuditLog } from '../domain/audit.ts';
import { InvalidRequest, WeakPassword } from '../domain/errors.ts';
import type { Mailer } from '../mail/mailer.ts';
import type { AccountTokens } from './account-tokens.ts';
import { passwordResetMail } from './mail-messages.ts';
import type { Translator } from '../pages/language/translator.ts';
import { weakPasswordWords } from '../pages/language/password-words.ts';

/** Who made a request, for the audit log. */
export interface RequestOrigin {
  ip: string;
  userAgent: string | undefined;
}

export type ResetOutcome =
  | { status: 'done'; accountId: string }
  /** the token is unknown, expired, used, or its account disabled */
  | { status: 'invalid' }
  /** the new password was refused; the token is still usable */
  | { status: 'refused'; message: string };

export interface PasswordResetOptions {
  accounts: Accounts;
  tokens: AccountTokens;
  audit: AuditLog;
  mailer: Mailer;
  /** ends every session of the account and revokes its tokens */
  endSessions: (accountId: string) => Promise<unknown>;
  /** `${issuer}/reset/complete`: the mailed link is this with `?token=` */
  completeUrl: string;
  site: string;
  /** the product name mails are signed with */
  product: string;
  ttlSeconds: number;
}

/** "Forgot your password": a one-time link to the account's email address, then a new password. */
export class PasswordReset {
  readonly #options: PasswordResetOptions;

  constructor(options: PasswordResetOptions) {
    this.#options = options;
  }

  get ttlSeconds(): number {
    return this.#options.ttlSeconds;
  }

  /**
   * Mails a reset link when `login` names an enabled account with an email address; does nothing
   * otherwise. Callers must not let the requester see how long this took or whether it failed.
   */
  async request(login: string, origin: RequestOrigin, translator: Translator): Promise<void> {
    const { accounts, tokens, audit, mailer, completeUrl, site, product, ttlSeconds } = this.#options;
    const account = login.trim() === '' ? undefined : await accounts.findByLogin(login);
    if (!account || account.disabled || !account.email) return;
    const token = await tokens.issue(account.id, 'password_reset', ttlSeconds);
    await audit.record({ type: 'password.reset_requested', accountId: account.id, ip: origin.ip, userAgent: origin.userAgent });
    const link = `${completeUrl}?token=${token}`;
    await mailer.send(passwordResetMail({ to: account.email, username: account.username, site, product, link, ttlSeconds }, translator));
  }

  /** The account a reset link is for, while the link is usable. */
  async accountFor(token: string) {
    const accountId = await this.#options.tokens.peek(token, 'password_reset');
    return accountId === undefined ? undefined : this.#options.accounts.findById(accountId);
  }

  /**
   * Sets the new password and uses the token up. The token is consumed first, in one statement,
   * so that of two requests with the same token only one can change the password; when the
   * password is then refused, the token is given back.
   */
  async complete(token: string, password: string, origin: RequestOrigin, translator: Translator): Promise<ResetOutcome> {
    const { accounts, tokens, audit, endSessions } = this.#options;
    const accountId = await tokens.consume(token, 'password_reset');
    if (accountId === undefined) return { status: 'invalid' };
    try {
      await accounts.setPassword(accountId, password);
    } catch (error) {
      await tokens.restore(token, 'password_reset');
      if (error instanceof WeakPassword) return { status: 'refused', message: weakPasswordWords(error, translator) };
      if (error instanceof InvalidRequest) return { status: 'refused', message: error.message };
      throw error;
    }
    await tokens.expireAll(accountId, 'password_reset');
    await endSessions(accountId);
    await audit.record({ type: 'password.reset', accountId, ip: origin.ip, userAgent: origin.userAgent });
    return { status: 'done', accountId };
  }
}
