import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import type { Logger } from '../logger.ts';
import type { AccountSessions } from './account-sessions.ts';

/** Remembers, for the account pages, which browser each session is and when it was last used. */
export function trackSessionDevices(provider: Provider, sessions: AccountSessions, logger: Logger): void {
  provider.on('authorization.success', (ctx: KoaContextWithOIDC) => {
    const session = ctx.oidc.session;
    if (!session?.accountId || !session.uid) return;
    sessions.recordDevice(session.uid, session.accountId, ctx.ip, ctx.get('user-agent') || undefined).catch((error: unknown) => {
      logger.error({ err: error }, 'could not record the session device');
    });
  });
}
