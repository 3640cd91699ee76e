/**
 * A storage tier could not be reached in time (connection refused or lost, a timeout, the circuit
 * open, Redis refusing writes). The request that needed it is answered 503 with the protocol's
 * own `temporarily_unavailable`; nothing it was about to change has been changed by Postern.
 *
 * It carries the fields oidc-provider's error handler reads (`statusCode`, `expose`, `message` as
 * the OAuth error code, `error_description`), so the engine renders it in its own format too.
 */
export class StorageUnavailable extends Error {
  override name = 'StorageUnavailable';
  readonly tier: 'database' | 'kv';
  /** the driver's error code when there was one (ECONNREFUSED, 57P01, …) */
  readonly code: string | undefined;
  readonly status = 503;
  readonly statusCode = 503;
  readonly expose = true;
  readonly error = 'temporarily_unavailable';
  readonly error_description = 'The service is temporarily unavailable. Try again in a few seconds.';

  constructor(tier: 'database' | 'kv', cause?: unknown) {
    super('temporarily_unavailable', { cause });
    this.tier = tier;
    const code = (cause as { code?: unknown } | undefined)?.code;
    this.code = typeof code === 'string' ? code : undefined;
  }
}

export function isStorageUnavailable(error: unknown): error is StorageUnavailable {
  return error instanceof StorageUnavailable;
}
