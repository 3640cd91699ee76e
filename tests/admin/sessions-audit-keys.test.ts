import * as oidc from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '../../src/admin/pagination.ts';
import { availableBackends } from '../support/backends.ts';
import { discover, seed, signInAndExchange, type Fixture } from '../support/relying-party.ts';
import { UserAgent } from '../support/user-agent.ts';
import { expectProblem, useAdminServer } from './support.ts';

describe.each(availableBackends())('admin API: sessions, grants, audit events and signing keys on %s', (backend) => {
  const t = useAdminServer(backend);
  let fixture: Fixture;
  let rp: oidc.Configuration;

  beforeAll(async () => {
    fixture = await seed(t.server);
    rp = await discover(t.server, fixture);
  });

  const signIn = () => signInAndExchange(t.server, rp, fixture, {}, new UserAgent(t.server.issuer));

  it("lists a user's sessions and grants, ends one session, revokes a grant so that its refresh token stops working", async () => {
    const first = await signIn();
    const second = await signIn();
    const sessions = await t.call('listUserSessions', 'GET', `/users/${fixture.accountId}/sessions`);
    expect(sessions.body.items.length).toBeGreaterThanOrEqual(2);
    expect(sessions.body.items[0]).toMatchObject({ clientIds: [fixture.clientId], amr: ['pwd'] });
    const grants = await t.call('listUserGrants', 'GET', `/users/${fixture.accountId}/grants`);
    expect(grants.body.items.length).toBeGreaterThanOrEqual(2);
    expect(grants.body.items[0]).toMatchObject({ clientId: fixture.clientId, scopes: expect.arrayContaining(['openid']) });

    const grantIds: string[] = grants.body.items.map((g: { id: string }) => g.id);
    const sessionId = sessions.body.items[0].id as string;
    expect((await t.call('endUserSession', 'DELETE', `/users/${fixture.accountId}/sessions/${sessionId}`)).status).toBe(204);
    expect((await t.call('listUserSessions', 'GET', `/users/${fixture.accountId}/sessions`)).body.items.map((s: { id: string }) => s.id)).not.toContain(sessionId);
    expectProblem(await t.call('endUserSession', 'DELETE', `/users/${fixture.accountId}/sessions/${sessionId}`), 404);

    // refresh tokens work until their grants are revoked
    const refreshed = await oidc.refreshTokenGrant(rp, first.tokens.refresh_token!);
    expect(refreshed.access_token).toEqual(expect.any(String));
    for (const id of grantIds) {
      expect((await t.call('revokeUserGrant', 'DELETE', `/users/${fixture.accountId}/grants/${id}`)).status).toBe(204);
    }
    await expect(oidc.refreshTokenGrant(rp, refreshed.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(oidc.refreshTokenGrant(rp, second.tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expectProblem(await t.call('revokeUserGrant', 'DELETE', `/users/${fixture.accountId}/grants/${grantIds[0]}`), 404);

    const types = (await t.call('listAuditEvents', 'GET', `/audit-events?userId=${fixture.accountId}&actor=client:${t.admin.clientId}`)).body.items.map((e: { type: string }) => e.type);
    expect(types).toEqual(expect.arrayContaining(['session.ended', 'grant.revoked']));
  });

  it('signs a user out everywhere: every session ends and every refresh token stops working', async () => {
    const { tokens } = await signIn();
    const ended = await t.call('endUserSessions', 'DELETE', `/users/${fixture.accountId}/sessions`);
    expect(ended.body.sessions).toBeGreaterThanOrEqual(1);
    expect(ended.body.grants).toBeGreaterThanOrEqual(1);
    expect((await t.call('listUserSessions', 'GET', `/users/${fixture.accountId}/sessions`)).body.items).toEqual([]);
    await expect(oidc.refreshTokenGrant(rp, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('pages through audit events newest first, filtered by type, user, client and time range', async () => {
    const started = new Date(Date.now() - 1000);
    for (let i = 0; i < 7; i += 1) await t.server.services.audit.record({ type: 'test.paged', accountId: fixture.accountId, clientId: fixture.clientId, details: { i } });
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const answer = await t.call('listAuditEvents', 'GET', `/audit-events?type=test.paged&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...answer.body.items.map((e: { details: { i: number } }) => e.details.i));
      cursor = answer.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([6, 5, 4, 3, 2, 1, 0]);

    const inRange = await t.call('listAuditEvents', 'GET', `/audit-events?type=test.paged&since=${started.toISOString()}&until=${new Date(Date.now() + 60_000).toISOString()}&userId=${fixture.accountId}&clientId=${fixture.clientId}&limit=200`);
    expect(inRange.body.items).toHaveLength(7);
    expect((await t.call('listAuditEvents', 'GET', `/audit-events?type=test.paged&until=${started.toISOString()}`)).body.items).toEqual([]);
    expect((await t.call('listAuditEvents', 'GET', `/audit-events?type=test.paged&clientId=someone-else`)).body.items).toEqual([]);
    expectProblem(await t.call('listAuditEvents', 'GET', '/audit-events?since=yesterday'), 400, 'validation_failed');
    expectProblem(await t.call('listAuditEvents', 'GET', `/audit-events?cursor=${encodeCursor('not-an-id')}`), 400, 'validation_failed');
  });

  it('lists the signing keys without their private parts', async () => {
    const answer = await t.call('listSigningKeys', 'GET', '/signing-keys');
    const current = answer.body.items.find((key: { status: string }) => key.status === 'current');
    expect(current).toMatchObject({ alg: 'RS256', activatedAt: expect.any(String), retiredAt: null });
    expect(answer.body.items.map((key: { status: string }) => key.status).sort()).toEqual(['current', 'next']);
    const jwks = (await (await fetch(new URL('/jwks', t.server.issuer))).json()) as { keys: Array<{ kid: string }> };
    expect(jwks.keys.map((key) => key.kid)).toContain(current.kid);
    expect(JSON.stringify(answer.body)).not.toMatch(/"d"|private/);
  });

  it('rotates (409 while the next key is too new, unless now=true) and retires keys, audited with the calling client as actor', async () => {
    const before = (await t.call('listSigningKeys', 'GET', '/signing-keys')).body.items as Array<{ kid: string; status: string }>;
    const next = before.find((key) => key.status === 'next')!.kid;
    const current = before.find((key) => key.status === 'current')!.kid;
    expectProblem(await t.call('rotateSigningKeys', 'POST', '/signing-keys/rotate'), 409, 'conflict');
    const rotated = await t.call('rotateSigningKeys', 'POST', '/signing-keys/rotate?now=true');
    expect(rotated.status).toBe(200);
    expect(rotated.body).toMatchObject({ current: next, previous: current, next: expect.any(String) });
    expectProblem(await t.call('retireSigningKey', 'POST', `/signing-keys/${next}/retire`), 409, 'conflict');
    expectProblem(await t.call('retireSigningKey', 'POST', '/signing-keys/no-such-kid/retire'), 404, 'not_found');
    const retired = await t.call('retireSigningKey', 'POST', `/signing-keys/${current}/retire`);
    expect(retired.body).toMatchObject({ kid: current, status: 'retired', retiredAt: expect.any(String) });
    // the admin token in hand was signed by the key just retired: refused once the server has reloaded its keys (announced at once)
    await expect.poll(async () => (await t.call('listSigningKeys', 'GET', '/signing-keys')).status, { timeout: 15_000 }).toBe(401);
    const jwks = (await (await fetch(new URL('/jwks', t.server.issuer))).json()) as { keys: Array<{ kid: string }> };
    expect(jwks.keys.map((key) => key.kid)).not.toContain(current);
    const events = await t.server.storage.db('audit_events').whereIn('type', ['signing_key.rotated', 'signing_key.retired']).orderBy('id');
    expect(events.map((event: { type: string; actor: string | null }) => [event.type, event.actor])).toEqual([
      ['signing_key.rotated', `client:${t.admin.clientId}`],
      ['signing_key.retired', `client:${t.admin.clientId}`],
    ]);
  });
});
