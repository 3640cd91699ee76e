import { createHmac, createSecretKey } from 'node:crypto';
import type { AdapterPayload } from 'oidc-provider';
import { asDatabaseUnavailable } from '../../store/database-guard.ts';
import type { SqlModelStore } from '../adapter/sql-model-store.ts';
import type { TokenIds } from '../adapter/token-ids.ts';

/**
 * How a refresh token becomes the next one. The successor's value is derived from the presented
 * value with a server-side key, so every request that rotates one token — a retry, a racing second
 * tab — names the same successor, and a chain can never branch. Storing it and consuming the
 * presented token are one statement.
 */
export interface RefreshTokenRotation {
  /** seconds after a rotation during which the rotated token still yields its (unused) successor; 0: never */
  readonly reuseIntervalSeconds: number;
  /** the one value `presented` rotates into */
  successorOf(presented: string): string;
  /** consumes `presented` and stores its successor, atomically; false when another request already did */
  commit(presented: string, successor: string, payload: AdapterPayload, expiresIn: number): Promise<boolean>;
}

export function createRefreshTokenRotation(options: { store: SqlModelStore; tokenIds: TokenIds; key: Buffer; reuseIntervalSeconds: number }): RefreshTokenRotation {
  const { store, tokenIds, key, reuseIntervalSeconds } = options;
  const secret = createSecretKey(key);
  return {
    reuseIntervalSeconds,
    // 256 bits, base64url: the same shape as the engine's own opaque token values
    successorOf: (presented) => createHmac('sha256', secret).update(presented).digest('base64url'),
    async commit(presented, successor, payload, expiresIn) {
      try {
        return await store.rotate(tokenIds.storageId(presented), tokenIds.storageId(successor), tokenIds.toStored(successor, payload), expiresIn);
      } catch (error) {
        throw asDatabaseUnavailable(error);
      }
    },
  };
}
