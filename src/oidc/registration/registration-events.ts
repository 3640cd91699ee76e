import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import type { ClientRegistrationMode } from '../../config.ts';
import type { AuditLog } from '../../domain/audit.ts';
import type { Clients } from '../../domain/clients.ts';
import type { Logger } from '../../logger.ts';

export interface RegistrationEventsDependencies {
  mode: ClientRegistrationMode;
  audit: AuditLog;
  clients: Clients;
  logger: Logger;
}

/**
 * Audit records for registrations made, changed, removed and refused; a client's first token marks it used (so the
 * sweep of registrations never used leaves it alone).
 */
export function registrationEvents(provider: Provider, deps: RegistrationEventsDependencies): void {
  const record = (ctx: KoaContextWithOIDC, type: string, clientId: string | undefined, details: Record<string, unknown>) => {
    deps.audit
      .record({ type, clientId, ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined, details })
      .catch((error: unknown) => deps.logger.error({ err: error, type }, 'could not write an audit event'));
  };
  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    const clientId = ctx.oidc.client?.clientId;
    if (clientId) deps.clients.markUsed(clientId).catch((error: unknown) => deps.logger.warn({ err: error, clientId }, 'could not note a client\'s first use'));
  });
  if (deps.mode === 'off') return;
  const via = deps.mode === 'token' ? 'initial_access_token' : 'open_native';
  provider.on('registration_create.success', (ctx: KoaContextWithOIDC, client: { clientId: string; applicationType?: string }) => {
    record(ctx, 'client.registered', client.clientId, { via, applicationType: client.applicationType });
  });
  provider.on('registration_update.success', (ctx: KoaContextWithOIDC, client: { clientId: string }) => {
    record(ctx, 'client.registration_updated', client.clientId, {});
  });
  provider.on('registration_delete.success', (ctx: KoaContextWithOIDC, client: { clientId: string }) => {
    record(ctx, 'client.registration_deleted', client.clientId, {});
  });
  provider.on('registration_create.error', (ctx: KoaContextWithOIDC, error: { error?: string }) => {
    record(ctx, 'client.registration_refused', undefined, { via, error: error.error ?? 'server_error' });
  });
}
