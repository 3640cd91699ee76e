import type { DeliveryState, LogoutDelivery } from '../../domain/logout-deliveries.ts';
import { memoryPage, pageRequest } from '../pagination.ts';
import { auditChange, iso, isoOrNull, type Handler, type HandlerDependencies } from './types.ts';

function deliveryJson(delivery: LogoutDelivery) {
  return {
    id: delivery.id,
    clientId: delivery.clientId,
    uri: delivery.uri,
    userId: delivery.sub,
    sid: delivery.sid,
    reason: delivery.reason,
    state: delivery.state,
    attempts: delivery.attempts,
    nextAttemptAt: isoOrNull(delivery.nextAttemptAt),
    lastAttemptAt: isoOrNull(delivery.lastAttemptAt),
    lastError: delivery.lastError,
    createdAt: iso(delivery.createdAt),
    finishedAt: isoOrNull(delivery.finishedAt),
  };
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** Back-Channel Logout delivery state: what each application was told, or is still to be told. */
export function logoutDeliveryHandlers(deps: HandlerDependencies): Record<string, Handler> {
  const { logoutDeliveries } = deps.services;
  return {
    async listLogoutDeliveries(request) {
      const { query } = request;
      const [all, counts] = await Promise.all([
        // the newest thousand: older ones are finished and purged after 30 days
        logoutDeliveries.list({ state: text(query.state) as DeliveryState | undefined, clientId: text(query.clientId), sub: text(query.userId), limit: 1000 }),
        logoutDeliveries.counts(),
      ]);
      return { status: 200, body: { counts, ...memoryPage(pageRequest(query), all, (delivery) => delivery.id, deliveryJson) } };
    },
    async retryLogoutDeliveries(request) {
      const filter = { id: text(request.query.id), clientId: text(request.query.clientId) };
      const restarted = await logoutDeliveries.retryFailed(filter);
      await auditChange(deps, request, { type: 'logout.retried', ...(filter.clientId ? { clientId: filter.clientId } : {}), details: { restarted, ...(filter.id ? { id: filter.id } : {}) } });
      return { status: 200, body: { restarted } };
    },
  };
}
