import { bodyParser } from '@koa/bodyparser';
import type { Context, Middleware } from 'koa';
import type { Provider } from 'oidc-provider';
import type { AuditEvent } from '../domain/audit.ts';
import { requireCsrfToken } from '../http/csrf.ts';
import type { Views } from '../interactions/views.ts';
import type { Logger } from '../logger.ts';
import type { AccountSessions } from '../oidc/account-sessions.ts';
import type { Services } from '../services.ts';
import type { NoticeKey } from './format.ts';
import { ACCOUNT_PAGES } from './paths.ts';
import { currentUser, redirectToSignIn, type SignedInUser } from './signed-in.ts';

export interface AccountPageDependencies {
  provider: () => Provider;
  issuer: string;
  /** shown next to the new-password field; Accounts.setPassword enforces the whole policy */
  passwordMinLength: number;
  services: Pick<Services, 'accounts' | 'clients' | 'resourceServers' | 'audit' | 'throttle' | 'trustedDevices' | 'totp' | 'recoveryCodes' | 'passkeys'>;
  sessions: AccountSessions;
  views: Views;
  logger: Logger;
  /** makes sure the account pages' client is registered before a sign-in needs it */
  ensureClient: () => Promise<void>;
}

export type AccountHandler = (ctx: Context, user: SignedInUser) => Promise<void>;

export interface AccountPages {
  /** A route for signed-in users only; anyone else is sent to sign in first. */
  signedIn(handler: AccountHandler): Middleware;
  /** Body parser and CSRF check for every form post. */
  form: Middleware[];
  audit(ctx: Context, user: SignedInUser, event: Omit<AuditEvent, 'accountId' | 'ip' | 'userAgent'>): Promise<void>;
  /** 303 to one of these pages, with a fixed message to show there */
  redirect(ctx: Context, path: string, notice?: NoticeKey): void;
  html(ctx: Context, status: number, body: string): void;
}

export function accountPages(deps: AccountPageDependencies): AccountPages {
  return {
    signedIn(handler) {
      return async (ctx) => {
        const user = await currentUser(ctx, deps.provider(), deps.services.accounts);
        if (!user) {
          await deps.ensureClient();
          // a form posted without a session loses its fields: after sign-in it starts again from the overview
          redirectToSignIn(ctx, deps.issuer, ctx.method === 'GET' || ctx.method === 'HEAD' ? ctx.path : ACCOUNT_PAGES.overview);
          return;
        }
        if (ctx.method === 'GET') {
          await deps.sessions.recordDevice(user.sessionUid, user.account.id, ctx.ip, ctx.get('user-agent') || undefined);
        }
        await handler(ctx, user);
      };
    },

    form: [bodyParser({ enableTypes: ['form'], formLimit: '16kb' }), requireCsrfToken],

    audit(ctx, user, event) {
      return deps.services.audit.record({ ...event, accountId: user.account.id, ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined });
    },

    redirect(ctx, path, notice) {
      ctx.status = 303;
      ctx.redirect(notice ? `${path}?notice=${notice}` : path);
    },

    html(ctx, status, body) {
      ctx.status = status;
      ctx.type = 'html';
      ctx.body = body;
    },
  };
}
