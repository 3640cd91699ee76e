import type { Adapter, AdapterPayload } from 'oidc-provider';
import { asDatabaseUnavailable } from '../../store/database-guard.ts';

async function guarded<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    throw asDatabaseUnavailable(error);
  }
}

/**
 * The adapter the engine sees: a storage tier that cannot be reached surfaces as StorageUnavailable,
 * which the engine renders as 503 `temporarily_unavailable` instead of 500 `server_error`.
 * (The pool's breaker already answers so before a statement starts; this covers the statement
 * whose connection is lost while it runs.)
 */
export class UnavailableGuard implements Adapter {
  /** the tier's own store behind the guard */
  readonly store: Adapter;

  constructor(store: Adapter) {
    this.store = store;
  }

  upsert(id: string, payload: AdapterPayload, expiresIn?: number) {
    return guarded(this.store.upsert(id, payload, expiresIn));
  }

  // a value with a NUL character is never stored (PostgreSQL text cannot hold one): nothing to find
  find(id: string) {
    return id.includes('\0') ? Promise.resolve(undefined) : guarded(this.store.find(id));
  }

  findByUid(uid: string) {
    return uid.includes('\0') ? Promise.resolve(undefined) : guarded(this.store.findByUid(uid));
  }

  findByUserCode(userCode: string) {
    return userCode.includes('\0') ? Promise.resolve(undefined) : guarded(this.store.findByUserCode(userCode));
  }

  consume(id: string) {
    return guarded(this.store.consume(id));
  }

  destroy(id: string) {
    return guarded(this.store.destroy(id));
  }

  revokeByGrantId(grantId: string) {
    return guarded(this.store.revokeByGrantId(grantId));
  }
}

/** The same for a callback the engine calls (findAccount, resource indicators, policy checks). */
export function failingAsUnavailable<Args extends unknown[], Result>(callback: (...args: Args) => Promise<Result>): (...args: Args) => Promise<Result> {
  return (...args) => guarded(callback(...args));
}
