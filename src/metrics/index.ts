/**
 * The one place the rest of Postern reports what it measures. Every function here is a no-op
 * until `enableMetrics()` loads the Prometheus registry (POSTERN_METRICS_PORT or
 * POSTERN_METRICS_TOKEN set), so with metrics off the hot paths pay one empty call.
 */

export const STORAGE_TIERS = ['database', 'ephemeral'] as const;
export type StorageTier = (typeof STORAGE_TIERS)[number];
/** `unavailable`: the tier could not be reached in time; `failed`: it answered with an error */
export const STORAGE_ERROR_KINDS = ['unavailable', 'failed'] as const;
export type StorageErrorKind = (typeof STORAGE_ERROR_KINDS)[number];
/** `locked`: refused while a lockout wait runs, whatever was typed */
export const SIGN_IN_OUTCOMES = ['success', 'failure', 'locked'] as const;
export type SignInOutcome = (typeof SIGN_IN_OUTCOMES)[number];
/** the step that succeeded or failed: the password, a TOTP code, a recovery code, or a passkey */
export const SIGN_IN_METHODS = ['password', 'totp', 'recovery_code', 'passkey'] as const;
export type SignInMethod = (typeof SIGN_IN_METHODS)[number];
export const LOCKOUT_SCOPES = ['account', 'device', 'ip'] as const;
export type LockoutScope = (typeof LOCKOUT_SCOPES)[number];
export const LOGOUT_DELIVERY_OUTCOMES = ['delivered', 'retrying', 'failed'] as const;
export type LogoutDeliveryOutcome = (typeof LOGOUT_DELIVERY_OUTCOMES)[number];
/** the grants Postern enables; each series starts at 0 */
export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const;

export interface Recorder {
  request(method: string, route: string, status: number, seconds: number): void;
  tokenIssued(grantType: string): void;
  signIn(outcome: SignInOutcome, method: SignInMethod): void;
  lockout(scope: LockoutScope): void;
  rateLimited(endpoint: string): void;
  refreshReuse(): void;
  storage(tier: StorageTier, seconds: number | null, error: StorageErrorKind | undefined): void;
  logoutDelivery(outcome: LogoutDeliveryOutcome): void;
}

/** What the metrics endpoints serve. */
export interface Exposition {
  contentType: string;
  render(): Promise<string>;
}

const NOOP: Recorder = {
  request() {},
  tokenIssued() {},
  signIn() {},
  lockout() {},
  rateLimited() {},
  refreshReuse() {},
  storage() {},
  logoutDelivery() {},
};

let recorder: Recorder = NOOP;
let enabled: Promise<Exposition> | undefined;
let signingKeyActivation: () => Promise<Date | undefined> = async () => undefined;

/** Loads prom-client and starts recording (process metrics included). Idempotent: one registry per process. */
export function enableMetrics(): Promise<Exposition> {
  enabled ??= import('./prometheus.ts').then(({ createPrometheus }) => {
    const prometheus = createPrometheus(() => signingKeyActivation());
    recorder = prometheus.recorder;
    return prometheus.exposition;
  });
  return enabled;
}

/** Where the signing-key age gauge reads the current key's activation time at each scrape. */
export function watchSigningKeyActivation(source: () => Promise<Date | undefined>): void {
  signingKeyActivation = source;
}

const routes = new WeakMap<object, string>();

/** Keeps a request's normalized route beside it (Node's request object), for its trace span. */
export function noteRoute(request: object, route: string): void {
  routes.set(request, route);
}

export function notedRoute(request: object): string | undefined {
  return routes.get(request);
}

/** One HTTP request answered: the normalized route (never a raw path), its status, how long it took. */
export function observeRequest(method: string, route: string, status: number, seconds: number): void {
  recorder.request(method, route, status, seconds);
}

export function countTokenIssued(grantType: string): void {
  recorder.tokenIssued(grantType);
}

export function countSignIn(outcome: SignInOutcome, method: SignInMethod): void {
  recorder.signIn(outcome, method);
}

export function countLockout(scope: LockoutScope): void {
  recorder.lockout(scope);
}

export function countRateLimited(endpoint: string): void {
  recorder.rateLimited(endpoint);
}

/** A rotated refresh token presented again outside the reuse interval: its grant was revoked. */
export function countRefreshReuse(): void {
  recorder.refreshReuse();
}

/** One storage call, its duration (null when it was refused without trying: circuit open) and, when it failed, how. */
export function observeStorage(tier: StorageTier, seconds: number | null, error?: StorageErrorKind): void {
  recorder.storage(tier, seconds, error);
}

/** One back-channel logout notification sent to a client, and how it ended. */
export function countLogoutDelivery(outcome: LogoutDeliveryOutcome): void {
  recorder.logoutDelivery(outcome);
}
