import type { AuditLog } from './audit.ts';
import type { Clients } from './clients.ts';

/**
 * Removes dynamic registrations older than `unusedTtlSeconds` that never got a token, each with an
 * audit record (`client.registration_expired`, actor `sweep`). Returns how many went.
 */
export async function sweepUnusedRegistrations(clients: Clients, audit: AuditLog, unusedTtlSeconds: number | null): Promise<number> {
  if (unusedTtlSeconds === null) return 0;
  const removed = await clients.sweepUnused(unusedTtlSeconds);
  for (const clientId of removed) {
    await audit.record({ type: 'client.registration_expired', clientId, actor: 'sweep', details: { unusedForSeconds: unusedTtlSeconds } });
  }
  return removed.length;
}
