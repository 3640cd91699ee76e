/**
 * One measurement, in its own process so that the load generator never shares an event loop
 * with the orchestrator:
 *
 *   node bench/load.ts <scenario> <target.json> <connections> <seconds> [progress-seconds]
 *
 * `target.json` is a TargetInfo (bench/lib/scenarios.ts) written by bench/run.ts. Prints JSON
 * lines on stdout: `{"event":"start"}` when the measured window opens (the orchestrator starts
 * reading the server's CPU then), and `{"event":"result",...}` (a LoadResult) when it closes.
 * With `progress-seconds` > 0 (the soak, bench/lib/soak.ts) it also prints
 * `{"event":"progress","completed":N,"errors":E}` that often in between: running totals of
 * responses (flows) and errors (non-2xx, socket errors, timeouts; failed flows).
 * HTTP scenarios are driven by autocannon; `flow` by N workers each running whole sign-ins.
 */
import autocannon from 'autocannon';
import { readFile, writeFile } from 'node:fs/promises';
import { Browser } from './lib/browser.ts';
import { authorizationCodeFlow, basicAuthorization } from './lib/code-flow.ts';
import { isScenario, type LoadResult, type ScenarioName, type TargetInfo } from './lib/scenarios.ts';
import { Samples } from './lib/stats.ts';

const [scenarioArg, targetFile, connectionsArg, secondsArg, progressArg] = process.argv.slice(2);
if (!scenarioArg || !isScenario(scenarioArg) || !targetFile || !connectionsArg || !secondsArg) {
  process.stderr.write('usage: node bench/load.ts <scenario> <target.json> <connections> <seconds> [progress-seconds]\n');
  process.exit(2);
}
const scenario: ScenarioName = scenarioArg;
const connections = Number(connectionsArg);
const seconds = Number(secondsArg);
const progressSeconds = Number(progressArg ?? 0);
const target = JSON.parse(await readFile(targetFile, 'utf8')) as TargetInfo;
const clientAuth = basicAuthorization(target.clientId, target.clientSecret);
const FORM = 'application/x-www-form-urlencoded';

function emit(line: object) {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** Prints running totals every `progressSeconds` (when asked for) until the returned stop function is called. */
function reportProgress(totals: () => { completed: number; errors: number }): () => void {
  if (!(progressSeconds > 0)) return () => {};
  const timer = setInterval(() => emit({ event: 'progress', ...totals() }), progressSeconds * 1000);
  return () => clearInterval(timer);
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`the target has no ${what}`);
  return value;
}

function decodeJwt(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  return {
    header: JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>,
  };
}

/** A one-line summary of a response, to show which work the server did (same on both targets). */
function describe(status: number, body: string): string {
  if (status !== 200) return `HTTP ${status} ${body.slice(0, 120)}`;
  const json = JSON.parse(body) as Record<string, unknown>;
  switch (scenario) {
    case 'client_credentials':
    case 'refresh': {
      const at = decodeJwt(String(json.access_token));
      const parts = [at ? `AT=${String(at.header.typ)}/${String(at.header.alg)}` : 'AT=opaque'];
      if (json.id_token) parts.push('id_token');
      if (json.refresh_token) parts.push('rotated RT');
      return parts.join(' ');
    }
    case 'introspect_jwt':
    case 'introspect_opaque':
      return `active=${String(json.active)}${json.token_type ? ` ${String(json.token_type)}` : ''}`;
    case 'userinfo':
      return `claims=${Object.keys(json).sort().join(',')}`;
    case 'jwks':
      return `keys=${(json.keys as unknown[]).length}`;
    default:
      return `${Object.keys(json).length} fields`;
  }
}

// ---------------------------------------------------------------- refresh-token pool

let pool: string[] = [];
let poolHead = 0;
let poolExhausted = false;
const poolSize = () => pool.length - poolHead;
function takeToken(): string | undefined {
  if (poolHead >= pool.length) return undefined;
  const token = pool[poolHead]!;
  poolHead += 1;
  if (poolHead > 4096 && poolHead * 2 > pool.length) {
    pool = pool.slice(poolHead);
    poolHead = 0;
  }
  return token;
}

// ---------------------------------------------------------------- autocannon scenarios

interface Plan {
  request: autocannon.Request;
  preflight(): Promise<string>;
}

async function fetchCheck(path: string, init: RequestInit = {}): Promise<string> {
  const response = await fetch(new URL(path, target.url), init);
  return describe(response.status, await response.text());
}

function plan(): Plan {
  const post = (path: string, body: string): Plan => ({
    request: { method: 'POST', path, headers: { 'content-type': FORM, authorization: clientAuth }, body },
    preflight: () => fetchCheck(path, { method: 'POST', headers: { 'content-type': FORM, authorization: clientAuth }, body }),
  });
  const get = (path: string, headers: Record<string, string> = {}): Plan => ({
    request: { method: 'GET', path, headers },
    preflight: () => fetchCheck(path, { headers }),
  });
  switch (scenario) {
    case 'client_credentials':
      return post('/token', 'grant_type=client_credentials&scope=read');
    case 'introspect_jwt':
      return post('/token/introspection', `token=${need(target.jwtAccessToken, 'JWT access token')}`);
    case 'introspect_opaque':
      return post('/token/introspection', `token=${need(target.opaqueAccessToken, 'opaque access token')}`);
    case 'userinfo':
      return get('/me', { authorization: `Bearer ${need(target.opaqueAccessToken, 'opaque access token')}` });
    case 'jwks':
      return get('/jwks');
    case 'discovery':
      return get('/.well-known/openid-configuration');
    case 'refresh':
      return {
        request: {
          method: 'POST',
          path: '/token',
          headers: { 'content-type': FORM, authorization: clientAuth },
          setupRequest(request) {
            let token = takeToken();
            if (token === undefined) {
              // every connection holds one token in flight, so this only happens with a pool smaller than that
              poolExhausted = true;
              token = 'pool-exhausted';
            }
            request.body = `grant_type=refresh_token&refresh_token=${token}`;
            return request;
          },
          onResponse(status, body) {
            // each token is sent once; the rotated one it earns joins the back of the queue
            if (status === 200) pool.push((JSON.parse(body) as { refresh_token: string }).refresh_token);
          },
        },
        async preflight() {
          const token = need(takeToken(), 'refresh token in the pool');
          const response = await fetch(new URL('/token', target.url), {
            method: 'POST',
            headers: { 'content-type': FORM, authorization: clientAuth },
            body: `grant_type=refresh_token&refresh_token=${token}`,
          });
          const body = await response.text();
          if (response.status === 200) pool.push((JSON.parse(body) as { refresh_token: string }).refresh_token);
          return describe(response.status, body);
        },
      };
    case 'flow':
      throw new TypeError('flow is not an autocannon scenario');
  }
}

async function runAutocannon(): Promise<LoadResult> {
  const { request, preflight } = plan();
  const poolBefore = scenario === 'refresh' ? poolSize() : 0;
  const check = await preflight();
  const samples = new Samples();
  const failures: string[] = [];
  const userOnResponse = request.onResponse;
  request.onResponse = (status, body, context, headers) => {
    if (status >= 300 && failures.length < 3) failures.push(`${status} ${body.slice(0, 200)}`);
    userOnResponse?.(status, body, context, headers);
  };
  // running error count for progress lines, counted as autocannon counts errors + non2xx
  let errorsSoFar = 0;

  emit({ event: 'start' });
  const stopProgress = reportProgress(() => ({ completed: samples.count, errors: errorsSoFar }));
  const started = performance.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      { url: target.url, connections, duration: seconds, pipelining: 1, timeout: 30, requests: [request] },
      (error, outcome) => (error ? reject(error) : resolve(outcome)),
    );
    instance.on('response', (_client: unknown, status: number, _bytes: number, responseTime: number) => {
      samples.add(responseTime);
      if (status < 200 || status >= 300) errorsSoFar += 1;
    });
    instance.on('reqError', () => {
      errorsSoFar += 1;
    });
  });
  stopProgress();
  const elapsed = (performance.now() - started) / 1000;

  const statusCodes: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats)) statusCodes[code] = count;
  const completed = samples.count;
  const notes = failures.length > 0 ? failures : undefined;
  const out: LoadResult = {
    scenario,
    target: target.name,
    connections,
    seconds: Math.round(elapsed * 100) / 100,
    completed,
    rate: Math.round((completed / elapsed) * 10) / 10,
    httpRate: Math.round((completed / elapsed) * 10) / 10,
    latencyMs: samples.summary(),
    errors: result.errors + result.non2xx,
    non2xx: result.non2xx,
    timeouts: result.timeouts,
    statusCodes,
    check,
    ...(notes ? { notes } : {}),
  };
  if (scenario === 'refresh') {
    out.pool = { before: poolBefore, after: poolSize(), exhausted: poolExhausted };
    await writeFile(need(target.refreshPoolFile, 'refresh pool file'), pool.slice(poolHead).join('\n'));
  }
  return out;
}

// ---------------------------------------------------------------- code flow scenario

async function runFlows(): Promise<LoadResult> {
  const scope = 'openid read';
  const first = await authorizationCodeFlow(new Browser(target.url), target, { scope });
  const check = `${first.requests} requests/flow, login=${first.loggedIn}, ${describe(200, JSON.stringify(first.tokens))}`;
  const samples = new Samples();
  const failures: string[] = [];
  let errors = 0;
  let requests = 0;
  const stepTotals: Record<string, number> = {};

  emit({ event: 'start' });
  const stopProgress = reportProgress(() => ({ completed: samples.count, errors }));
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < until) {
        const t0 = performance.now();
        try {
          // a fresh browser each time: no session, so every flow checks the password
          const outcome = await authorizationCodeFlow(new Browser(target.url), target, { scope });
          samples.add(performance.now() - t0);
          requests += outcome.requests;
          for (const [step, ms] of Object.entries(outcome.steps)) stepTotals[step] = (stepTotals[step] ?? 0) + ms;
        } catch (error) {
          errors += 1;
          if (failures.length < 3) failures.push(error instanceof Error ? error.message.slice(0, 300) : String(error));
        }
      }
    }),
  );
  stopProgress();
  const elapsed = (performance.now() - started) / 1000;
  const stepMeans = Object.entries(stepTotals).map(([step, ms]) => `${step} ${(ms / Math.max(1, samples.count)).toFixed(1)}`);
  return {
    scenario,
    target: target.name,
    connections,
    seconds: Math.round(elapsed * 100) / 100,
    completed: samples.count,
    rate: Math.round((samples.count / elapsed) * 10) / 10,
    httpRate: Math.round((requests / elapsed) * 10) / 10,
    latencyMs: samples.summary(),
    errors,
    non2xx: 0,
    timeouts: 0,
    statusCodes: {},
    check,
    stepsMs: stepMeans.join(', '),
    ...(failures.length > 0 ? { notes: failures } : {}),
  };
}

if (scenario === 'refresh') {
  pool = (await readFile(need(target.refreshPoolFile, 'refresh pool file'), 'utf8')).split('\n').filter(Boolean);
}
const result = scenario === 'flow' ? await runFlows() : await runAutocannon();
emit({ event: 'result', ...result });
