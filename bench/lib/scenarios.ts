/** The measured scenarios, in the order they run and are reported. */
export const SCENARIOS = [
  'client_credentials',
  'refresh',
  'introspect_jwt',
  'introspect_opaque',
  'userinfo',
  'flow',
  'jwks',
  'discovery',
] as const;

export type ScenarioName = (typeof SCENARIOS)[number];

export function isScenario(name: string): name is ScenarioName {
  return (SCENARIOS as readonly string[]).includes(name);
}

export const SCENARIO_LABELS: Record<ScenarioName, string> = {
  client_credentials: 'client_credentials (JWT AT, RS256)',
  refresh: 'refresh_token (rotation)',
  introspect_jwt: 'introspection, JWT AT',
  introspect_opaque: 'introspection, opaque AT',
  userinfo: 'userinfo (opaque bearer)',
  flow: 'code + PKCE flow, login (flows/s)',
  jwks: 'JWKS',
  discovery: 'discovery',
};

/** Scenarios answered by the token endpoint: their p99 at c=50 has a target. */
export const TOKEN_ENDPOINT_SCENARIOS: ReadonlySet<ScenarioName> = new Set(['client_credentials', 'refresh']);

/** Everything a load process needs to know about the server it drives (written as JSON by run.ts). */
export interface TargetInfo {
  /** label in reports: `postern`, `postern×2`, `baseline`, … */
  name: string;
  url: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  username: string;
  password: string;
  api: string;
  /** a client_credentials JWT access token (scope read) */
  jwtAccessToken?: string;
  /** an opaque access token from a code flow with scope `openid` */
  opaqueAccessToken?: string;
  /** one refresh token per line; each is sent once, rotated ones are written back */
  refreshPoolFile?: string;
}

export interface LoadResult {
  scenario: ScenarioName;
  target: string;
  connections: number;
  /** wall time of the measurement, seconds */
  seconds: number;
  /** completed HTTP requests (flows: completed flows) */
  completed: number;
  /** requests per second; for `flow`, flows per second */
  rate: number;
  /** HTTP requests per second behind `rate` (flow: all requests of the flows) */
  httpRate: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  errors: number;
  non2xx: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** what one pre-flight response said (e.g. `active=true`), to show the work is the same on both sides */
  check?: string;
  pool?: { before: number; after: number; exhausted: boolean };
  /** flow: mean milliseconds per step of a flow (authorize, login, token) */
  stepsMs?: string;
  notes?: string[];
}
