import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Provider } from 'oidc-provider';
import type { Config } from '../config.ts';
import type { Accounts } from '../domain/accounts.ts';
import type { AuditLog } from '../domain/audit.ts';
import { requireCsrfToken } from '../http/csrf.ts';
import { ACCOUNT_PATH, PASSWORD_RESET_PATH } from '../interactions/paths.ts';
import type { Views } from '../interactions/views.ts';
import type { Mailer } from '../mail/mailer.ts';
import type { Database } from '../store/db.ts';
import { AccountTokens } from './account-tokens.ts';
import { PasswordReset } from './password-reset.ts';
import { Registration } from './registration.ts';
import { registrationRoutes, VERIFY_EMAIL_PATH } from './registration-routes.ts';
import { RESET_COMPLETE_PATH, resetRoutes } from './reset-routes.ts';
import { signInToReturnTo } from './sign-in-return.ts';
import type { WayOn } from '../interactions/views.ts';

export interface RecoveryDependencies {
  config: Pick<Readonly<Config>, 'issuer' | 'security' | 'brand'>;
  db: Database;
  accounts: Accounts;
  audit: AuditLog;
  mailer: Mailer;
  /** ends every session of the account and revokes its refresh and access tokens */
  endSessions: (accountId: string) => Promise<unknown>;
  views: Views;
  /** to find the sign-in a reset or registration began from */
  provider: () => Provider;
}

/** The password reset flow: links to `/reset/complete`, mailed to the account's address. */
export function createPasswordReset(deps: RecoveryDependencies, tokens = new AccountTokens(deps.db)): PasswordReset {
  const base = deps.config.issuer.replace(/\/+$/, '');
  return new PasswordReset({
    accounts: deps.accounts,
    tokens,
    audit: deps.audit,
    mailer: deps.mailer,
    endSessions: deps.endSessions,
    completeUrl: `${base}${RESET_COMPLETE_PATH}`,
    site: new URL(deps.config.issuer).host,
    product: deps.config.brand.name,
    ttlSeconds: deps.config.security.passwordResetTtl,
  });
}

/** Password reset by email, and (when turned on) self-service registration with email verification. */
export function recoveryRouter(deps: RecoveryDependencies): Router {
  const { config } = deps;
  const base = config.issuer.replace(/\/+$/, '');
  const site = new URL(config.issuer).host;
  const tokens = new AccountTokens(deps.db);
  const form = [bodyParser({ enableTypes: ['form'], formLimit: '16kb' }), requireCsrfToken];
  const router = new Router();
  const wayOn = async (ctx: Context): Promise<WayOn> => ({ next: await signInToReturnTo(ctx, deps.provider()), accountLink: ACCOUNT_PATH });

  // every page here is personal or carries a one-time token
  router.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    await next();
  });

  const reset = createPasswordReset(deps, tokens);
  resetRoutes(router, { reset, views: deps.views, passwordMinLength: config.security.passwordMinLength, form, wayOn });

  if (config.security.registration) {
    const registration = new Registration({
      accounts: deps.accounts,
      tokens,
      audit: deps.audit,
      mailer: deps.mailer,
      verifyUrl: `${base}${VERIFY_EMAIL_PATH}`,
      signInUrl: `${base}${ACCOUNT_PATH}`,
      resetUrl: `${base}${PASSWORD_RESET_PATH}`,
      site,
      product: config.brand.name,
      ttlSeconds: config.security.emailVerificationTtl,
    });
    registrationRoutes(router, { registration, views: deps.views, passwordMinLength: config.security.passwordMinLength, form, wayOn });
  }
  return router;
}
