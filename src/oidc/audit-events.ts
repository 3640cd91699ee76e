import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import type { AuditLog } from '../domain/audit.ts';
import type { Logger } from '../logger.ts';

/** Audit records for what the engine ends on its own: a sign-out through /session/end, a grant revoked at /token/revocation. */
export function auditProviderEvents(provider: Provider, audit: AuditLog, logger: Logger): void {
  const record = (ctx: KoaContextWithOIDC, type: string, accountId: string | undefined, details: Record<string, unknown>) => {
    audit
      .record({ type, accountId, clientId: ctx.oidc?.client?.clientId, ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined, details })
      .catch((error: unknown) => logger.error({ err: error, type }, 'could not write an audit event'));
  };
  provider.on('end_session.success', (ctx: KoaContextWithOIDC) => {
    record(ctx, 'session.ended', ctx.oidc.session?.accountId ?? undefined, { via: 'logout' });
  });
  provider.on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) => {
    record(ctx, 'grant.revoked', ctx.oidc.entities.AccessToken?.accountId ?? ctx.oidc.entities.RefreshToken?.accountId ?? undefined, { via: 'token_revocation', grantId });
  });
}
