import type { Middleware } from 'koa';
import type { AuditLog } from '../../domain/audit.ts';
import { outcomeOf } from './outcome.ts';

/** A person's answer to a device, as the device flow's end pages saw it: `device.approved` or `device.denied`. */
export function auditDeviceAnswers(audit: AuditLog): Middleware {
  return async (ctx, next) => {
    await next();
    const outcome = outcomeOf(ctx);
    if (outcome?.kind !== 'approved' && outcome?.kind !== 'denied') return;
    await audit.record({ type: `device.${outcome.kind}`, accountId: outcome.accountId, clientId: outcome.clientId, ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined });
  };
}
