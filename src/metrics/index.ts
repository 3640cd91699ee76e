/**
 * The one place the rest of Postern reports what it measures. Every function here is a no-op
 * until `enableMetrics()` loads the Prometheus registry (POSTERN_METRICS_PORT or
 * POSTERN_METRICS_TOKEN set), so with metrics off the hot paths pay one empty call.
 */

export type StorageTier = 'database' | 'ephemeral';
/** `unavailable`: the tier could not be reached in time; `failed`: it answered with an error */
export type StorageErrorKind = 'unavailable' | 'failed';
/** `locked`: refused while a lockout wait runs, whatever was typed */
export type SignInOutcome = 'success' | 'failure' | 'locked';
/** the step that succeeded or failed: the password, a TOTP code, or a recovery code */
export type SignInMethod = 'password' | 'totp' | 'recovery_code';
export type LockoutScope = 'account' | 'device' | 'ip';
export type LogoutDeliveryOutcome = 'delivered' | 'failed' | 'timed_out';

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
