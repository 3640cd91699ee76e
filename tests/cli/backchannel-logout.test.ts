import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientSummary } from '../../src/domain/clients.ts';
import type { DeliveryState, LogoutDelivery } from '../../src/domain/logout-deliveries.ts';
import { availableBackends } from '../support/backends.ts';
import { createSandbox, errorLines, parseJson, ROOT, type Sandbox } from './support/cli.ts';

type Json<T> = { [K in keyof T]: T[K] extends Date ? string : T[K] extends Date | null ? string | null : T[K] };

const LOGOUT_URI = 'https://app.example.test/backchannel-logout';

describe.each(availableBackends())('back-channel logout through the CLI on %s', { timeout: 300_000 }, (backend) => {
  let cli: Sandbox;
  let clientId: string;

  beforeAll(async () => {
    cli = await createSandbox(backend);
  });
  afterAll(() => cli?.cleanup());

  it('registers, changes and removes a client\'s back-channel logout URI', async () => {
    const created = parseJson<Json<ClientSummary>>(
      await cli.run(['client', 'create', '--name', 'Logout App', '--redirect-uri', 'http://localhost:8080/cb', '--backchannel-logout-uri', LOGOUT_URI, '--backchannel-logout-session-required', '--json']),
    );
    expect(created).toMatchObject({ backchannelLogoutUri: LOGOUT_URI, backchannelLogoutSessionRequired: true });
    clientId = created.clientId;

    const changed = await cli.run(['client', 'update', clientId, '--backchannel-logout-uri', 'http://localhost:9000/logout']);
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stdout).toMatch(/back-channel logout +http:\/\/localhost:9000\/logout/);
    expect(changed.stdout).toMatch(/logout needs sid +no/);

    const refused = await cli.run(['client', 'update', clientId, '--backchannel-logout-uri', 'http://app.example.test/logout']);
    expect(refused.code).toBe(1);
    expect(errorLines(refused)).toEqual(['postern: backchannel_logout_uri: "http://app.example.test/logout" must use https (http is allowed for localhost only)']);
    const nothing = await cli.run(['client', 'update', clientId]);
    expect(nothing.code).toBe(2);

    const removed = parseJson<Json<ClientSummary>>(await cli.run(['client', 'update', clientId, '--no-backchannel-logout', '--json']));
    expect(removed).toMatchObject({ clientId, backchannelLogoutUri: null, backchannelLogoutSessionRequired: false });
  });

  it('lists deliveries with their state, attempts and last error', async () => {
    const queued = await cli.runScript(join(ROOT, 'tests/cli/support/queue-logouts.ts'), [clientId, LOGOUT_URI]);
    expect(queued.code, queued.stderr).toBe(0);

    const all = parseJson<{ counts: Record<DeliveryState, number>; deliveries: Array<Json<LogoutDelivery>> }>(await cli.run(['logout-deliveries', 'list', '--json']));
    expect(all.counts).toEqual({ pending: 1, delivered: 0, failed: 1 });
    expect(all.deliveries).toMatchObject([
      { clientId, sub: 'account-2', reason: 'account_deleted', state: 'pending', attempts: 0, lastError: null },
      { clientId, sub: 'account-1', reason: 'signed_out_everywhere', state: 'failed', attempts: 3, lastError: 'could not connect (ECONNREFUSED)', nextAttemptAt: null },
    ]);

    const failed = await cli.run(['logout-deliveries', 'list', '--state', 'failed']);
    expect(failed.code, failed.stderr).toBe(0);
    expect(failed.stdout).toContain('pending 1, delivered 0, failed 1');
    expect(failed.stdout).toMatch(/signed_out_everywhere +failed +3 +- +could not connect \(ECONNREFUSED\)/);
    expect(failed.stdout).not.toContain('account-2');

    const bad = await cli.run(['logout-deliveries', 'list', '--state', 'lost']);
    expect(bad.code).toBe(2);
    expect(errorLines(bad)[0]).toBe('postern: logout-deliveries list: --state must be one of pending, delivered, failed, got "lost"');
  });

  it('starts failed deliveries again from their first attempt', async () => {
    expect((await cli.run(['logout-deliveries', 'retry'])).code).toBe(2);
    expect(parseJson<{ restarted: number }>(await cli.run(['logout-deliveries', 'retry', '--client', clientId, '--json']))).toEqual({ restarted: 1 });
    const all = parseJson<{ counts: Record<DeliveryState, number>; deliveries: Array<Json<LogoutDelivery>> }>(await cli.run(['logout-deliveries', 'list', '--json']));
    expect(all.counts).toEqual({ pending: 2, delivered: 0, failed: 0 });
    expect(all.deliveries[1]).toMatchObject({ sub: 'account-1', state: 'pending', attempts: 0, finishedAt: null });
    expect(Date.parse(all.deliveries[1]!.queuedAt)).toBeGreaterThan(Date.parse(all.deliveries[1]!.createdAt));
  });
});
