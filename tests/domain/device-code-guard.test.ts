import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceCodeGuard } from '../../src/domain/device-code-guard.ts';
import type { KvStore } from '../../src/store/kv/index.ts';
import { BackendPool, KV_BACKENDS, uniqueId } from '../support/adapter-backends.ts';

const pool = new BackendPool();
afterAll(() => pool.closeAll());

for (const backend of KV_BACKENDS) {
  describe.runIf(backend.enabled)(`device code guard on ${backend.title}`, () => {
    const open = pool.use(backend);
    let kv: KvStore;
    let guard: DeviceCodeGuard;

    beforeAll(() => {
      kv = open().kv;
      guard = new DeviceCodeGuard(kv, { browserFailureThreshold: 2, ipFailureThreshold: 3, lockSeconds: 60 });
    });

    it('locks a browser at its threshold and leaves other browsers on the address alone until the address threshold', async () => {
      const ip = uniqueId('ip');
      const first = { ip, browser: uniqueId('browser') };
      expect(await guard.recordFailure(first)).toEqual({ lockedNow: false, scope: undefined });
      expect(await guard.check(first)).toEqual({ locked: false, retryAfterSeconds: 0 });
      expect(await guard.recordFailure(first)).toEqual({ lockedNow: true, scope: 'browser' });
      const locked = await guard.check(first);
      expect(locked.locked).toBe(true);
      expect(locked.retryAfterSeconds).toBeGreaterThan(0);
      expect(locked.retryAfterSeconds).toBeLessThanOrEqual(60);

      const second = { ip, browser: uniqueId('browser') };
      expect((await guard.check(second)).locked).toBe(false);
      expect(await guard.recordFailure(second)).toEqual({ lockedNow: true, scope: 'ip' });
      expect((await guard.check(second)).locked).toBe(true);
      // a browser without a session cookie is held by the address alone
      expect((await guard.check({ ip, browser: undefined })).locked).toBe(true);
      expect((await guard.check({ ip: uniqueId('ip'), browser: undefined })).locked).toBe(false);
    });
  });
}
