import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRUSTED_DEVICE_LIFETIME_MS, TrustedDevices } from '../../src/domain/trusted-devices.ts';
import type { Database } from '../../src/store/db.ts';
import { BackendPool, SQL_BACKENDS, uniqueId } from '../support/adapter-backends.ts';

const pool = new BackendPool();
afterAll(() => pool.closeAll());

for (const backend of SQL_BACKENDS) {
  describe.runIf(backend.enabled)(`trusted devices on ${backend.title}`, () => {
    const sql = pool.use(backend);
    let db: Database;
    let devices: TrustedDevices;

    beforeAll(() => {
      db = sql().db;
      devices = new TrustedDevices(db);
    });

    async function account(): Promise<string> {
      const id = randomUUID();
      await db('accounts').insert({ id, username: uniqueId('user') });
      return id;
    }

    const bump = (id: string) => db('accounts').where({ id }).increment('device_generation', 1);

    it('stores only a hash of the device id, and keeps the id a browser presents while it is live', async () => {
      const id = await account();
      const deviceId = await devices.remember(id, 0, undefined);
      expect(await devices.isLive(id, deviceId)).toBe(true);
      expect(await devices.remember(id, 0, deviceId)).toBe(deviceId);
      const rows = await db('trusted_devices').where({ account_id: id }).select('device_hash');
      expect(rows).toHaveLength(1);
      expect(JSON.stringify(rows)).not.toContain(deviceId);
      expect(await devices.isLive(await account(), deviceId)).toBe(false);
    });

    it('a device of an earlier generation is not live, and presenting it yields a new one', async () => {
      const id = await account();
      const old = await devices.remember(id, 0, undefined);
      await bump(id);
      expect(await devices.isLive(id, old)).toBe(false);
      const renewed = await devices.remember(id, 1, old);
      expect(renewed).not.toBe(old);
      expect(await devices.isLive(id, renewed)).toBe(true);
    });

    it('a sign-in that checked the password before a change records a device that is dead on arrival, and forgets nothing newer', async () => {
      const id = await account();
      await bump(id);
      const owner = await devices.remember(id, 1, undefined);
      const raced = await devices.remember(id, 0, undefined);
      expect(await devices.isLive(id, raced)).toBe(false);
      expect(await devices.isLive(id, owner)).toBe(true);
    });

    it('a device unused for longer than the cookie lives is not live', async () => {
      const id = await account();
      const deviceId = await devices.remember(id, 0, undefined);
      await db('trusted_devices').where({ account_id: id }).update({ last_used_at: new Date(Date.now() - TRUSTED_DEVICE_LIFETIME_MS - 1000) });
      expect(await devices.isLive(id, deviceId)).toBe(false);
      expect(await devices.remember(id, 0, deviceId)).not.toBe(deviceId);
    });
  });
}
