import { AuditLog } from '../../src/domain/audit.ts';
import { SigningKeys, type RotationPolicy } from '../../src/domain/signing-keys.ts';
import type { Database } from '../../src/store/db.ts';
import type { SecretEnvelope } from '../../src/store/envelope.ts';
import { MemoryKv } from '../../src/store/kv/memory-kv.ts';
import { ProcessCaches } from '../../src/store/process-caches.ts';

/** Signing keys on `db` outside a server: announcements go to a process-local channel nobody hears. */
export function signingKeysOn(db: Database, envelope: SecretEnvelope, policy: Partial<Omit<RotationPolicy, 'keepPreviousSeconds'>> & { keepPreviousSeconds?: number } = {}): SigningKeys {
  return new SigningKeys({
    db,
    envelope,
    audit: new AuditLog(db),
    processCaches: new ProcessCaches(new MemoryKv()),
    policy: {
      intervalSeconds: policy.intervalSeconds === undefined ? 90 * 86400 : policy.intervalSeconds,
      publishLeadSeconds: policy.publishLeadSeconds ?? 360,
      keepPreviousSeconds: async () => policy.keepPreviousSeconds ?? 3660,
    },
  });
}
