import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RATE_LIMITED_ENDPOINTS } from '../../src/config.ts';
import { availableBackends } from '../support/backends.ts';
import { declaredNames, parseExposition, total, type Series } from '../support/metrics-text.ts';
import { discover, seed, signInAndExchange, startAuthorization, type Fixture } from '../support/relying-party.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { formAction, hiddenField, UserAgent } from '../support/user-agent.ts';

const PROMTOOL = '/usr/bin/promtool';
const DASHBOARD = new URL('../../deploy/grafana/postern.json', import.meta.url);
// the real tiers when they are there: then both storage tiers are measured
const backend = availableBackends().at(-1)!;

function basic(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

describe(`metrics on ${backend}`, () => {
  const token = randomBytes(32).toString('hex');
  let server: TestServer;
  let fixture: Fixture;
  let config: oidc.Configuration;

  const scrape = async (): Promise<string> => {
    const response = await fetch(server.metricsUrl!);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    return response.text();
  };
  const series = async (): Promise<Series[]> => parseExposition(await scrape());

  beforeAll(async () => {
    server = await startTestServer(backend, {
      POSTERN_METRICS_PORT: '0',
      POSTERN_METRICS_TOKEN: token,
      POSTERN_TRUST_PROXY: 'true',
      POSTERN_RATE_LIMIT_TOKEN: '5/1m',
      POSTERN_LOCKOUT_THRESHOLD: '2',
      POSTERN_REFRESH_REUSE_INTERVAL: '0',
    });
    fixture = await seed(server);
    config = await discover(server, fixture);
  });
  afterAll(() => server?.close());

  it('serves /metrics on the main port only to a bearer of the token', async () => {
    const metrics = new URL('/metrics', server.url);
    for (const authorization of [undefined, `Bearer ${token.slice(1)}`, `Bearer ${token}x`, `Bearer ${'0'.repeat(token.length)}`, `Basic ${token}`]) {
      const refused = await fetch(metrics, { headers: authorization ? { authorization } : {} });
      expect(refused.status, authorization).toBe(401);
      expect(refused.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
      expect(await refused.text()).not.toContain('postern_');
    }
    const served = await fetch(metrics, { headers: { authorization: `Bearer ${token}` } });
    expect(served.status).toBe(200);
    expect(await served.text()).toContain('# TYPE postern_tokens_issued_total counter');
    // known series start at 0, so that the first event counts in a rate
    const series = parseExposition(await (await fetch(server.metricsUrl!)).text());
    for (const outcome of ['delivered', 'retrying', 'failed']) {
      expect(series.find((entry) => entry.name === 'postern_logout_deliveries_total' && entry.labels.outcome === outcome)?.value, outcome).toBe(0);
    }
    expect(series.filter((entry) => entry.name === 'postern_sign_ins_total')).toHaveLength(12);
    expect(series.filter((entry) => entry.name === 'postern_rate_limited_requests_total')).toHaveLength(RATE_LIMITED_ENDPOINTS.length);
    // the metrics listener serves nothing else
    expect((await fetch(new URL('/token', server.metricsUrl))).status).toBe(404);
  });

  it('counts tokens by grant type, sign-ins by outcome and method, lockouts, refresh reuse and 429s', async () => {
    const before = await series();

    // a token request
    const cc = await fetch(new URL('/token', server.url), {
      method: 'POST',
      headers: { authorization: basic(fixture.clientId, fixture.clientSecret), 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '198.51.100.1' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'read' }),
    });
    expect(cc.status).toBe(200);

    // a sign-in, its code exchanged, its refresh token rotated, then the rotated one presented again
    const { tokens } = await signInAndExchange(server, config, fixture, {}, new UserAgent(server.issuer, { 'x-forwarded-for': '198.51.100.2' }));
    await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });

    // two wrong passwords: two failures, the second one past the threshold locks; the third is refused as locked
    const attacker = new UserAgent(server.issuer, { 'x-forwarded-for': '198.51.100.3' });
    let page = await attacker.get((await startAuthorization(config)).url.toString());
    const uid = /\/interaction\/([^/]+)\/login/.exec(page.html)![1]!;
    for (let i = 0; i < 3; i += 1) {
      page = await attacker.post(formAction(page.html), { csrf: hiddenField(page.html, 'csrf'), login: fixture.username, password: `wrong ${i}` });
      expect(page.status).toBe(401);
    }

    // a burst from one address past the token endpoint's budget
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      const response = await fetch(new URL('/token', server.url), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '198.51.100.4' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'nobody' }),
      });
      statuses.push(response.status);
    }
    expect(statuses.at(-1)).toBe(429);

    const after = await series();
    const moved = (name: string, labels: Record<string, string> = {}) => total(after, name, labels) - total(before, name, labels);
    expect(moved('postern_tokens_issued_total', { grant_type: 'client_credentials' })).toBe(1);
    expect(moved('postern_tokens_issued_total', { grant_type: 'authorization_code' })).toBe(1);
    expect(moved('postern_tokens_issued_total', { grant_type: 'refresh_token' })).toBe(1);
    expect(moved('postern_sign_ins_total', { outcome: 'success', method: 'password' })).toBe(1);
    expect(moved('postern_sign_ins_total', { outcome: 'failure', method: 'password' })).toBe(2);
    expect(moved('postern_sign_ins_total', { outcome: 'locked', method: 'password' })).toBe(1);
    expect(moved('postern_lockouts_total', { scope: 'account' })).toBe(1);
    expect(moved('postern_refresh_token_reuse_detected_total')).toBe(1);
    expect(moved('postern_rate_limited_requests_total', { endpoint: 'token' })).toBe(1);

    // latency by normalized route and status: the engine's route names and our routers' patterns
    expect(moved('postern_http_request_duration_seconds_count', { method: 'POST', route: 'token', status: '200' })).toBe(3);
    expect(moved('postern_http_request_duration_seconds_count', { method: 'POST', route: 'token', status: '429' })).toBe(1);
    expect(moved('postern_http_request_duration_seconds_count', { method: 'POST', route: '/interaction/:uid/login', status: '401' })).toBe(3);
    const routes = new Set(after.filter((entry) => entry.name === 'postern_http_request_duration_seconds_count').map((entry) => entry.labels.route!));
    for (const route of routes) {
      expect(route).not.toContain(uid);
      expect(route).toMatch(/^(other|[a-z_]+|(\/[\w.-]*|\/:\w+)+)$/);
    }

    expect(total(after, 'postern_signing_key_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(after.some((entry) => entry.name === 'postern_signing_key_age_seconds')).toBe(true);
    expect(total(after, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    if (backend === 'postgres+redis') {
      expect(moved('postern_storage_duration_seconds_count', { tier: 'database' })).toBeGreaterThan(0);
      expect(moved('postern_storage_duration_seconds_count', { tier: 'ephemeral' })).toBeGreaterThan(0);
    }
  });

  it.skipIf(!existsSync(PROMTOOL))(`passes promtool check metrics${existsSync(PROMTOOL) ? '' : ' (skipped: no /usr/bin/promtool; apt-get install prometheus)'}`, async () => {
    const checked = spawnSync(PROMTOOL, ['check', 'metrics'], { input: await scrape(), encoding: 'utf8' });
    expect(checked.stdout + checked.stderr).toBe('');
    expect(checked.status).toBe(0);
  });

  it('has a Grafana dashboard whose every query names a metric the server exposes', async () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { title: string; panels: Array<{ title: string; targets?: Array<{ expr: string }> }> };
    const exposed = declaredNames(await scrape());
    const queries = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr })));
    expect(queries.length).toBeGreaterThan(10);
    const used = new Set<string>();
    for (const { panel, expr } of queries) {
      const names = [...expr.matchAll(/\b((?:postern|process|nodejs)_\w+)/g)].map((match) => match[1]!);
      expect(names.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) {
        expect(exposed.has(name), `${panel}: ${name}`).toBe(true);
        used.add(name.replace(/_(bucket|sum|count)$/, ''));
      }
    }
    // every Postern metric has a panel
    for (const name of exposed) if (name.startsWith('postern_') && !/_(bucket|sum|count)$/.test(name)) expect(used.has(name), name).toBe(true);
  });
});
