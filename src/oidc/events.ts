import type { Provider } from 'oidc-provider';
import type { Logger } from '../logger.ts';
import { logOutage } from '../store/outage-log.ts';
import { StorageUnavailable } from '../store/unavailable.ts';

const ERROR_EVENTS = [
  'authorization.error',
  'backchannel.error',
  'check_session_origin.error',
  'code_verification.error',
  'device_authorization.error',
  'device_resume.error',
  'discovery.error',
  'end_session.error',
  'grant.error',
  'introspection.error',
  'jwks.error',
  'registration_create.error',
  'revocation.error',
  'userinfo.error',
] as const;

/** Logs the engine's events: expected OAuth errors at debug, storage outages through the outage log, unexpected ones (server_error) at error. */
export function subscribeProviderEvents(provider: Provider, logger: Logger): void {
  // the typings list these events per name; one loop over the names needs the plain emitter signature
  const emitter = provider as unknown as NodeJS.EventEmitter;
  for (const event of ERROR_EVENTS) {
    emitter.on(event, (ctx: { state?: { log?: Logger } } | undefined, error: { error?: string; error_description?: string; status?: number; message?: string }) => {
      const log = ctx?.state?.log ?? logger;
      const fields = { event, error: error.error, description: error.error_description };
      if (error instanceof StorageUnavailable) logOutage(log, error);
      else if ((error.status ?? 500) >= 500) log.error({ ...fields, err: error }, 'engine error');
      else log.debug(fields, 'protocol error');
    });
  }
  emitter.on('server_error', (ctx: { state?: { log?: Logger } } | undefined, error: Error) => {
    (ctx?.state?.log ?? logger).error({ err: error }, 'engine server_error');
  });
  emitter.on('grant.revoked', (_ctx: unknown, grantId: string) => logger.info({ grantId }, 'grant revoked'));
}
