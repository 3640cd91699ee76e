import { createHash, randomBytes } from 'node:crypto';
import type { Database } from '../store/db.ts';

/** Live devices per account; signing in from one more forgets the least recently used. */
export const MAX_TRUSTED_DEVICES = 10;
/** as long as the cookie that carries the id */
export const TRUSTED_DEVICE_LIFETIME_MS = 365 * 24 * 3600 * 1000;

const hashOf = (deviceId: string) => createHash('sha256').update(deviceId).digest('hex');

/**
 * The browsers an account has signed in from, which the lockout lets through (LoginThrottle): each
 * holds a random device id in a cookie; only its hash is stored. A device is live while it is of
 * the account's current generation (Accounts moves to the next one when the password changes and
 * when the user signs out everywhere), has been used within a year, and is among the account's
 * MAX_TRUSTED_DEVICES most recently used. A device that is not live is no device at all.
 */
export class TrustedDevices {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async isLive(accountId: string, deviceId: string): Promise<boolean> {
    const row = await this.#db('trusted_devices as d')
      .join('accounts as a', 'a.id', 'd.account_id')
      .where({ 'd.account_id': accountId, 'd.device_hash': hashOf(deviceId) })
      .whereRaw('d.generation = a.device_generation')
      .where('d.last_used_at', '>', new Date(Date.now() - TRUSTED_DEVICE_LIFETIME_MS))
      .first('d.account_id');
    return row !== undefined;
  }

  /**
   * After a successful sign-in whose password was checked against the account at `generation`:
   * the presented device when it is live at that generation, or a new one. Returns its id. A
   * sign-in that raced a password change records its device under the old generation, where it
   * is dead on arrival.
   */
  async remember(accountId: string, generation: number, presented: string | undefined): Promise<string> {
    return this.#db.transaction(async (trx) => {
      const now = new Date();
      let deviceId: string | undefined;
      if (presented) {
        const touched = await trx('trusted_devices')
          .where({ account_id: accountId, device_hash: hashOf(presented), generation })
          .where('last_used_at', '>', new Date(now.getTime() - TRUSTED_DEVICE_LIFETIME_MS))
          .update({ last_used_at: now })
          .returning('device_hash');
        if (touched.length > 0) deviceId = presented;
      }
      if (!deviceId) {
        deviceId = randomBytes(16).toString('base64url');
        await trx('trusted_devices').insert({ account_id: accountId, device_hash: hashOf(deviceId), generation, created_at: now, last_used_at: now });
      }
      const kept = trx('trusted_devices')
        .where({ account_id: accountId, generation })
        .orderBy([{ column: 'last_used_at', order: 'desc' }, { column: 'created_at', order: 'desc' }])
        .limit(MAX_TRUSTED_DEVICES)
        .select('device_hash');
      // earlier generations are dead for good; later ones belong to a sign-in that saw a newer password
      await trx('trusted_devices')
        .where({ account_id: accountId })
        .andWhere((q) => q.where('generation', '<', generation).orWhere((same) => same.where({ generation }).whereNotIn('device_hash', kept)))
        .delete();
      return deviceId;
    });
  }
}
