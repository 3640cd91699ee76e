import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Authenticator } from '../support/authenticator.ts';
import { availableBackends } from '../support/backends.ts';
import { waitForMail } from '../support/outbox.ts';
import { SoftwarePasskey } from '../support/software-passkey.ts';
import { expectProblem, useAdminServer } from './support.ts';

const PASSWORD = 'a perfectly long passphrase';
const API = 'https://inventory.example.test';
const outbox = await mkdtemp(join(tmpdir(), 'postern-admin-outbox-'));
afterAll(() => rm(outbox, { recursive: true, force: true }));

describe.each(availableBackends())('admin API: users, roles and APIs on %s', (backend) => {
  const t = useAdminServer(backend, { POSTERN_MAIL_OUTBOX: join(outbox, backend) });
  const ip = '127.0.0.1';

  async function createUser(username: string, extra: Record<string, unknown> = {}) {
    const answer = await t.call('createUser', 'POST', '/users', { body: { username, email: `${username}@example.test`, password: PASSWORD, ...extra } });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    return answer.body as { id: string; username: string };
  }

  it('creates users under the password policy; a taken username is 409', async () => {
    const user = await createUser('ada', { name: 'Ada L.' });
    expect(user).toMatchObject({ username: 'ada', email: 'ada@example.test', name: 'Ada L.', hasPassword: true, disabled: false });
    expect(await t.server.services.accounts.authenticate('ada', PASSWORD)).toMatchObject({ id: user.id });
    expectProblem(await t.call('createUser', 'POST', '/users', { body: { username: 'weak', password: 'short' } }), 400, 'invalid_request');
    expectProblem(await t.call('createUser', 'POST', '/users', { body: { username: 'ADA' } }), 409, 'conflict');
    const noPassword = await t.call('createUser', 'POST', '/users', { body: { username: 'later' } });
    expect(noPassword.body.hasPassword).toBe(false);
  });

  it('updates a profile with If-Match; disabling refuses sign-in and ends sessions, enabling allows it again', async () => {
    const user = await createUser('grace');
    const path = `/users/${user.id}`;
    const read = await t.call('getUser', 'GET', path);
    expectProblem(await t.call('updateUser', 'PATCH', path, { body: { name: 'Grace H.' } }), 428);
    const renamed = await t.call('updateUser', 'PATCH', path, { body: { name: 'Grace H.', email: 'grace.h@example.test' }, headers: { 'if-match': read.headers.get('etag')! } });
    expect(renamed.body).toMatchObject({ name: 'Grace H.', email: 'grace.h@example.test', emailVerified: false });
    expectProblem(await t.call('updateUser', 'PATCH', path, { body: { name: 'Stale' }, headers: { 'if-match': read.headers.get('etag')! } }), 412);

    const disabled = await t.call('updateUser', 'PATCH', path, { body: { disabled: true }, headers: { 'if-match': renamed.headers.get('etag')! } });
    expect(disabled.body.disabled).toBe(true);
    expect(await t.server.services.accounts.authenticate('grace', PASSWORD)).toBeUndefined();
    expect((await t.server.services.accounts.findById(user.id))?.sessionsValidAfter).toBeInstanceOf(Date);
    await t.call('updateUser', 'PATCH', path, { body: { disabled: false }, headers: { 'if-match': disabled.headers.get('etag')! } });
    expect(await t.server.services.accounts.authenticate('grace', PASSWORD)).toMatchObject({ id: user.id });

    const taken = await t.call('getUser', 'GET', path);
    expectProblem(await t.call('updateUser', 'PATCH', path, { body: { email: 'ada@example.test' }, headers: { 'if-match': taken.headers.get('etag')! } }), 409);
    const types = (await t.call('listAuditEvents', 'GET', `/audit-events?userId=${user.id}`)).body.items.map((e: { type: string }) => e.type);
    expect(types).toEqual(expect.arrayContaining(['account.created', 'account.updated', 'account.disabled', 'account.enabled']));
  });

  it('reads and changes the standard claims (profile) with If-Match; a bad value is 400 and changes nothing', async () => {
    const user = await createUser('hedy');
    const path = `/users/${user.id}`;
    const read = await t.call('getUser', 'GET', path);
    expect(read.body.profile).toEqual({});
    const changed = await t.call('updateUser', 'PATCH', path, {
      body: { givenName: 'Hedy', profile: { nickname: 'H', phone_number: '+43 1 234567', phone_number_verified: true, address: { locality: 'Vienna', country: 'Austria' } } },
      headers: { 'if-match': read.headers.get('etag')! },
    });
    expect(changed.body).toMatchObject({ givenName: 'Hedy', profile: { nickname: 'H', phone_number: '+431234567', phone_number_verified: true, address: { locality: 'Vienna', country: 'Austria' } } });
    const refused = await t.call('updateUser', 'PATCH', path, { body: { profile: { website: 'http://hedy.example' } }, headers: { 'if-match': changed.headers.get('etag')! } });
    expectProblem(refused, 400);
    const removed = await t.call('updateUser', 'PATCH', path, { body: { profile: { nickname: null, address: null } }, headers: { 'if-match': changed.headers.get('etag')! } });
    expect(removed.body.profile).toEqual({ phone_number: '+431234567', phone_number_verified: true });
    expect((await t.server.services.accounts.findById(user.id))!.profile).toEqual(removed.body.profile);
  });

  it("lists a user's passkeys and removes one, which then signs in no more", async () => {
    const user = await createUser('margaret');
    const issuer = new URL(t.server.issuer);
    const key = new SoftwarePasskey(issuer.hostname, issuer.origin);
    const account = (await t.server.services.accounts.findById(user.id))!;
    const { passkeys } = t.server.services;
    await passkeys.register(`register:${user.id}`, user.id, key.register(await passkeys.registrationOptions(`register:${user.id}`, account)), 'YubiKey');
    const listed = await t.call('listUserPasskeys', 'GET', `/users/${user.id}/passkeys`);
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({ passkeys: [{ id: key.id, name: 'YubiKey', transports: ['internal'], deviceType: 'singleDevice', backedUp: false, createdAt: expect.any(String), lastUsedAt: null }] });
    const other = await createUser('katherine');
    expectProblem(await t.call('deleteUserPasskey', 'DELETE', `/users/${other.id}/passkeys/${key.id}`), 404, 'not_found');
    expectProblem(await t.call('deleteUserPasskey', 'DELETE', `/users/${user.id}/passkeys/not%20base64url`), 400, 'validation_failed');
    expect((await t.call('deleteUserPasskey', 'DELETE', `/users/${user.id}/passkeys/${key.id}`)).status).toBe(204);
    expect((await t.call('listUserPasskeys', 'GET', `/users/${user.id}/passkeys`)).body).toEqual({ passkeys: [] });
    const ceremony = 'signin:admin-test';
    await expect(passkeys.verify(ceremony, key.assert(await passkeys.authenticationOptions(ceremony), Buffer.from(user.id).toString('base64url')))).rejects.toMatchObject({ reason: 'unknown_credential' });
    expectProblem(await t.call('listUserPasskeys', 'GET', '/users/00000000-0000-4000-8000-000000000000/passkeys'), 404, 'not_found');
  });

  it('unlocks a locked account, resets its second factor, sets a password and mails a reset link', async () => {
    const user = await createUser('linus');
    const attempt = { accountId: user.id, deviceId: undefined, ip };
    for (let i = 0; i < 10; i += 1) await t.server.services.throttle.recordFailure(attempt);
    expect((await t.server.services.throttle.check({ ...attempt, ip: '192.0.2.1' })).locked).toBe(true);
    expect((await t.call('unlockUser', 'POST', `/users/${user.id}/unlock`)).status).toBe(204);
    expect((await t.server.services.throttle.check({ ...attempt, ip: '192.0.2.1' })).locked).toBe(false);

    const enrolment = await t.server.services.totp.beginEnrolment(user.id, 'linus');
    expect(await t.server.services.totp.confirmEnrolment(user.id, await new Authenticator(enrolment.secret).code())).toBe(true);
    await t.server.services.recoveryCodes.generate(user.id);
    expect((await t.call('resetUserSecondFactor', 'DELETE', `/users/${user.id}/second-factor`)).status).toBe(204);
    expect(await t.server.services.totp.isEnabled(user.id)).toBe(false);
    expect(await t.server.services.recoveryCodes.remaining(user.id)).toBe(0);

    expectProblem(await t.call('setUserPassword', 'PUT', `/users/${user.id}/password`, { body: { password: 'linus' } }), 400);
    expect((await t.call('setUserPassword', 'PUT', `/users/${user.id}/password`, { body: { password: 'another fine passphrase' } })).status).toBe(204);
    expect(await t.server.services.accounts.authenticate('linus', 'another fine passphrase')).toMatchObject({ id: user.id });
    expect(await t.server.services.accounts.authenticate('linus', PASSWORD)).toBeUndefined();

    const since = new Date();
    expect((await t.call('sendUserPasswordReset', 'POST', `/users/${user.id}/password-reset`)).status).toBe(202);
    const mail = await waitForMail(join(outbox, backend), { to: 'linus@example.test', since });
    expect(mail.text).toContain('/reset/complete?token=');
    const noEmail = await t.call('createUser', 'POST', '/users', { body: { username: 'mailless' } });
    expectProblem(await t.call('sendUserPasswordReset', 'POST', `/users/${noEmail.body.id}/password-reset`), 409, 'conflict');
    expectProblem(await t.call('unlockUser', 'POST', '/users/00000000-0000-4000-8000-000000000000/unlock'), 404, 'not_found');
  });

  it('registers an API, changes it with If-Match, and builds roles on its scopes that users hold', async () => {
    const api = await t.call('createApi', 'POST', '/apis', { body: { identifier: API, name: 'Inventory', scopes: [{ scope: 'stock:read' }, { scope: 'stock:write', description: 'Change stock' }] } });
    expect(api.body).toMatchObject({ identifier: API, access: 'roles', accessTokenTtl: null, isDefault: false });
    const path = `/apis/${encodeURIComponent(API)}`;
    const read = await t.call('getApi', 'GET', path);
    const changed = await t.call('updateApi', 'PATCH', path, { body: { access: 'open', accessTokenTtl: 300, scopes: [{ scope: 'stock:read' }, { scope: 'stock:count' }] }, headers: { 'if-match': read.headers.get('etag')! } });
    expect(changed.body).toMatchObject({ access: 'open', accessTokenTtl: 300, scopes: [{ scope: 'stock:count', description: null }, { scope: 'stock:read', description: null }] });
    expect((await t.server.services.resourceServers.find(API))?.access).toBe('open');
    expectProblem(await t.call('updateApi', 'PATCH', path, { body: { name: 'Stale' }, headers: { 'if-match': read.headers.get('etag')! } }), 412);
    expectProblem(await t.call('createApi', 'POST', '/apis', { body: { identifier: API, name: 'Again', scopes: [{ scope: 'x' }] } }), 409);
    expectProblem(await t.call('createApi', 'POST', '/apis', { body: { identifier: 'https://oidc.example.test', name: 'Reserved', scopes: [{ scope: 'openid' }] } }), 400);

    const role = await t.call('createRole', 'POST', '/roles', { body: { name: 'stock-clerk', description: 'Counts stock', permissions: [{ resourceServer: API, scope: 'stock:count' }] } });
    expect(role.status).toBe(201);
    expectProblem(await t.call('createRole', 'POST', '/roles', { body: { name: 'bad', permissions: [{ resourceServer: API, scope: 'stock:sell' }] } }), 400);
    expectProblem(await t.call('createRole', 'POST', '/roles', { body: { name: 'bad', permissions: [{ resourceServer: 'https://nowhere.example.test', scope: 'x' }] } }), 404);
    const user = await createUser('clerk');
    expect((await t.call('grantUserRole', 'PUT', `/users/${user.id}/roles/STOCK-CLERK`)).status).toBe(204);
    expect((await t.call('listUserRoles', 'GET', `/users/${user.id}/roles`)).body.roles).toEqual([{ name: 'stock-clerk', permissions: [{ resourceServer: API, scope: 'stock:count' }] }]);
    const shown = await t.call('getRole', 'GET', '/roles/stock-clerk');
    expect(shown.body.holders.users).toEqual([{ id: user.id, username: 'clerk' }]);
    expect(shown.headers.get('etag')).toBe(role.headers.get('etag'));

    const updated = await t.call('updateRole', 'PATCH', '/roles/stock-clerk', { body: { permissions: [{ resourceServer: API, scope: 'stock:read' }] }, headers: { 'if-match': shown.headers.get('etag')! } });
    expect(updated.body.permissions).toEqual([{ resourceServer: API, scope: 'stock:read' }]);
    expect((await t.server.services.roles.permissionsFor(user.id)).roles[0]?.permissions).toEqual([{ resourceServer: API, scope: 'stock:read' }]);
    expectProblem(await t.call('updateRole', 'PATCH', '/roles/stock-clerk', { body: { description: null }, headers: { 'if-match': shown.headers.get('etag')! } }), 412);

    // removing a scope removes the permission on it
    const current = await t.call('getApi', 'GET', path);
    await t.call('updateApi', 'PATCH', path, { body: { scopes: [{ scope: 'stock:count' }] }, headers: { 'if-match': current.headers.get('etag')! } });
    expect((await t.call('getRole', 'GET', '/roles/stock-clerk')).body.permissions).toEqual([]);

    expect((await t.call('revokeUserRole', 'DELETE', `/users/${user.id}/roles/stock-clerk`)).status).toBe(204);
    expect((await t.call('listUserRoles', 'GET', `/users/${user.id}/roles`)).body.roles).toEqual([]);
    expect((await t.call('deleteRole', 'DELETE', '/roles/stock-clerk')).status).toBe(204);
    expectProblem(await t.call('getRole', 'GET', '/roles/stock-clerk'), 404);
    expect((await t.call('deleteApi', 'DELETE', path)).status).toBe(204);
    expectProblem(await t.call('getApi', 'GET', path), 404);

    const types = (await t.call('listAuditEvents', 'GET', `/audit-events?actor=${encodeURIComponent(`client:${t.admin.clientId}`)}&limit=200`)).body.items.map((e: { type: string }) => e.type);
    expect(types).toEqual(expect.arrayContaining(['api.created', 'api.updated', 'api.deleted', 'role.created', 'role.permissions_set', 'role.granted', 'role.revoked', 'role.deleted']));
  });

  it('lists users, roles and APIs a page at a time', async () => {
    for (const name of ['pageone', 'pagetwo', 'pagethree']) await createUser(name);
    for (const name of ['r1', 'r2', 'r3']) await t.call('createRole', 'POST', '/roles', { body: { name } });
    for (const [operationId, path] of [['listUsers', '/users'], ['listRoles', '/roles'], ['listApis', '/apis']] as const) {
      const all = (await t.call(operationId, 'GET', `${path}?limit=200`)).body.items;
      const seen: unknown[] = [];
      let cursor: string | null = null;
      do {
        const answer = await t.call(operationId, 'GET', `${path}?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...answer.body.items);
        cursor = answer.body.nextCursor;
      } while (cursor);
      expect(seen, path).toEqual(all);
      expect(all.length, path).toBeGreaterThanOrEqual(path === '/apis' ? 1 : 3);
    }
  });

  it('deletes a user', async () => {
    const user = await createUser('leaving');
    expect((await t.call('deleteUser', 'DELETE', `/users/${user.id}`)).status).toBe(204);
    expectProblem(await t.call('getUser', 'GET', `/users/${user.id}`), 404);
    expect(await t.server.services.accounts.authenticate('leaving', PASSWORD)).toBeUndefined();
  });
});
