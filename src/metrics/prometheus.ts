import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { RATE_LIMITED_ENDPOINTS } from '../config.ts';
import {
  GRANT_TYPES,
  LOCKOUT_SCOPES,
  LOGOUT_DELIVERY_OUTCOMES,
  SIGN_IN_METHODS,
  SIGN_IN_OUTCOMES,
  STORAGE_ERROR_KINDS,
  STORAGE_TIERS,
  type Exposition,
  type Recorder,
} from './index.ts';

// seconds; requests run from a JWKS answer (well under a millisecond) to a password hash (tens of ms)
const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const STORAGE_BUCKETS = [0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** The registry with every Postern metric, and the recorder that feeds it. */
export function createPrometheus(signingKeyActivation: () => Promise<Date | undefined>): { recorder: Recorder; exposition: Exposition } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // gauges named like counters (promtool's lint refuses them); the same figures remain by type in nodejs_active_{handles,requests,resources}
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  const registers = [registry];

  const requests = new Histogram({
    name: 'postern_http_request_duration_seconds',
    help: 'HTTP requests by method, normalized route and status, and how long they took',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: REQUEST_BUCKETS,
    registers,
  });
  const tokens = new Counter({ name: 'postern_tokens_issued_total', help: 'Successful token endpoint responses by grant type', labelNames: ['grant_type'] as const, registers });
  const signIns = new Counter({ name: 'postern_sign_ins_total', help: 'Sign-in steps by outcome and method', labelNames: ['outcome', 'method'] as const, registers });
  const lockouts = new Counter({ name: 'postern_lockouts_total', help: 'Failures that started a lockout wait, by the bucket that locked', labelNames: ['scope'] as const, registers });
  const rateLimited = new Counter({ name: 'postern_rate_limited_requests_total', help: 'Requests answered 429 by the rate limits, by endpoint', labelNames: ['endpoint'] as const, registers });
  const reuse = new Counter({ name: 'postern_refresh_token_reuse_detected_total', help: 'Rotated refresh tokens presented again outside the reuse interval (grant revoked)', registers });
  const storage = new Histogram({
    name: 'postern_storage_duration_seconds',
    help: 'Storage calls by tier (database: PostgreSQL statements; ephemeral: Redis commands), and how long they took',
    labelNames: ['tier'] as const,
    buckets: STORAGE_BUCKETS,
    registers,
  });
  const storageErrors = new Counter({ name: 'postern_storage_errors_total', help: 'Storage calls that failed, by tier and kind (unavailable or failed)', labelNames: ['tier', 'kind'] as const, registers });
  const logoutDeliveries = new Counter({ name: 'postern_logout_deliveries_total', help: 'Back-channel logout notifications sent to clients, by outcome', labelNames: ['outcome'] as const, registers });
  new Gauge({
    name: 'postern_signing_key_age_seconds',
    help: 'Seconds since the current signing key became current',
    registers,
    async collect() {
      const activated = await signingKeyActivation().catch(() => undefined);
      if (activated) this.set(Math.max(0, (Date.now() - activated.getTime()) / 1000));
      else this.reset();
    },
  });

  // every known series from 0, so that a rate or an increase counts the first event too
  for (const grantType of GRANT_TYPES) tokens.inc({ grant_type: grantType }, 0);
  for (const outcome of SIGN_IN_OUTCOMES) for (const method of SIGN_IN_METHODS) signIns.inc({ outcome, method }, 0);
  for (const scope of LOCKOUT_SCOPES) lockouts.inc({ scope }, 0);
  for (const endpoint of RATE_LIMITED_ENDPOINTS) rateLimited.inc({ endpoint }, 0);
  for (const tier of STORAGE_TIERS) for (const kind of STORAGE_ERROR_KINDS) storageErrors.inc({ tier, kind }, 0);
  for (const outcome of LOGOUT_DELIVERY_OUTCOMES) logoutDeliveries.inc({ outcome }, 0);

  const recorder: Recorder = {
    request(method, route, status, seconds) {
      requests.observe({ method: KNOWN_METHODS.has(method) ? method : 'other', route, status: String(status) }, seconds);
    },
    tokenIssued: (grantType) => tokens.inc({ grant_type: grantType }),
    signIn: (outcome, method) => signIns.inc({ outcome, method }),
    lockout: (scope) => lockouts.inc({ scope }),
    rateLimited: (endpoint) => rateLimited.inc({ endpoint }),
    refreshReuse: () => reuse.inc(),
    storage(tier, seconds, error) {
      if (seconds !== null) storage.observe({ tier }, seconds);
      if (error) storageErrors.inc({ tier, kind: error });
    },
    logoutDelivery: (outcome) => logoutDeliveries.inc({ outcome }),
  };
  return { recorder, exposition: { contentType: registry.contentType, render: () => registry.metrics() } };
}
