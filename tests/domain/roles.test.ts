import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Clients } from '../../src/domain/clients.ts';
import { ResourceServers } from '../../src/domain/resource-servers.ts';
import { Entitlements, Roles } from '../../src/domain/roles.ts';
import type { Database } from '../../src/store/db.ts';
import { createEnvelope } from '../../src/store/envelope.ts';
import { RecordCache } from '../../src/store/record-cache.ts';
import { BackendPool, sleep, TIER_PAIRS, uniqueId } from '../support/adapter-backends.ts';

const pool = new BackendPool();
afterAll(() => pool.closeAll());

const HOLD = 1;
/** Past every writer's mark: the next read fills the shared cache, and a write that fails to mark leaves it stale. */
const settle = () => sleep(HOLD * 1000 + 100);

describe('Entitlements', () => {
  const api = { identifier: 'https://api.example.test', scopes: [{ scope: 'read', description: null }, { scope: 'write', description: null }] };
  const held = new Entitlements([
    { name: 'reader', permissions: [{ resourceServer: api.identifier, scope: 'read' }] },
    { name: 'auditor', permissions: [{ resourceServer: 'https://other.example.test', scope: 'read' }] },
    { name: 'member', permissions: [] },
  ]);

  it('gives every scope of an open API, and only what roles give on a roles API', () => {
    expect(held.scopesOn({ ...api, access: 'open' })).toEqual(['read', 'write']);
    expect(held.scopesOn({ ...api, access: 'roles' })).toEqual(['read']);
    expect(new Entitlements([]).scopesOn({ ...api, access: 'roles' })).toEqual([]);
  });

  it('names every role, and the roles that give something on one API', () => {
    expect(held.names).toEqual(['auditor', 'member', 'reader']);
    expect(held.rolesOn(api.identifier)).toEqual(['reader']);
  });
});

for (const tiers of TIER_PAIRS) {
  describe.runIf(tiers.enabled)(`roles on ${tiers.title}`, () => {
    const sql = pool.use(tiers.sql);
    const kv = pool.use(tiers.kv);
    let db: Database;
    // two instances of each service over one database and one shared cache, as two servers run
    let reader: Roles;
    let writer: Roles;
    let apis: ResourceServers;
    let clients: Clients;
    const API = `https://${uniqueId('api').toLowerCase()}.example.test`;

    beforeAll(async () => {
      db = sql().db;
      const cache = () => new RecordCache(kv().kv, 300, HOLD);
      reader = new Roles(db, cache());
      writer = new Roles(db, cache());
      apis = new ResourceServers(db, { records: cache() });
      clients = new Clients(db, createEnvelope(randomBytes(32)), { records: cache() });
      await apis.create({ identifier: API, name: 'API', scopes: [{ scope: 'read' }, { scope: 'write' }] });
    });

    async function account(): Promise<string> {
      const id = randomUUID();
      await db('accounts').insert({ id, username: uniqueId('user') });
      return id;
    }

    const scopes = async (accountId: string) => (await reader.permissionsFor(accountId)).scopesOn((await apis.find(API))!);

    it('creates a role with permissions, refuses a taken name in any case, and lists and shows it', async () => {
      const name = uniqueId('Editors');
      const role = await writer.create({ name, description: ' Edit things ', permissions: [{ resourceServer: API, scope: 'write' }, { resourceServer: API, scope: 'read' }] });
      expect(role).toMatchObject({ name, description: 'Edit things', permissions: [{ resourceServer: API, scope: 'read' }, { resourceServer: API, scope: 'write' }] });
      await expect(writer.create({ name: name.toUpperCase() })).rejects.toMatchObject({ code: 'conflict', message: `role ${name.toUpperCase()} already exists` });
      const id = await account();
      await writer.grant(name.toLowerCase(), { kind: 'account', id });
      expect((await writer.list()).find((r) => r.name === name)).toMatchObject({ users: 1, clients: 0 });
      expect((await writer.show(name)).users.map((u) => u.id)).toEqual([id]);
    });

    it('refuses a bad name, an unknown API or scope, and an unknown role or holder', async () => {
      await expect(writer.create({ name: '-admin' })).rejects.toMatchObject({ code: 'invalid_request' });
      await expect(writer.create({ name: uniqueId('r'), permissions: [{ resourceServer: 'https://nowhere.example.test', scope: 'read' }] })).rejects.toMatchObject({
        code: 'not_found',
        message: 'no resource server https://nowhere.example.test',
      });
      await expect(writer.create({ name: uniqueId('r'), permissions: [{ resourceServer: API, scope: 'delete' }] })).rejects.toMatchObject({
        code: 'invalid_request',
        message: `API ${API} has no scope "delete"`,
      });
      await expect(writer.grant('no-such-role', { kind: 'account', id: await account() })).rejects.toMatchObject({ code: 'not_found', message: 'no role no-such-role' });
      const name = uniqueId('r');
      await writer.create({ name });
      await expect(writer.grant(name, { kind: 'account', id: randomUUID() })).rejects.toMatchObject({ code: 'not_found' });
      await expect(writer.grant(name, { kind: 'client', id: 'no-such-client' })).rejects.toMatchObject({ code: 'not_found', message: 'no client no-such-client' });
    });

    it('grants only to clients that get tokens for themselves', async () => {
      const name = uniqueId('r');
      await writer.create({ name });
      const { client: web } = await clients.create({ name: 'Web', type: 'confidential', redirectUris: ['https://app.example.test/cb'] });
      await expect(writer.grant(name, { kind: 'client', id: web.clientId })).rejects.toMatchObject({ code: 'invalid_request' });
      const { client: worker } = await clients.create({ name: 'Worker', type: 'confidential', grantTypes: ['client_credentials'] });
      expect(await writer.grant(name, { kind: 'client', id: worker.clientId })).toBe(true);
      expect(await writer.grant(name, { kind: 'client', id: worker.clientId })).toBe(false);
      expect((await reader.clientPermissionsFor(worker.clientId)).names).toEqual([name]);
    });

    it('a grant and a revoke reach another instance at once, though it cached what the user held', async () => {
      const name = uniqueId('readers');
      await writer.create({ name, permissions: [{ resourceServer: API, scope: 'read' }] });
      const id = await account();
      expect(await scopes(id)).toEqual([]);
      expect(await writer.grant(name, { kind: 'account', id })).toBe(true);
      expect(await scopes(id)).toEqual(['read']);
      await settle();
      expect((await reader.permissionsFor(id)).names).toEqual([name]);
      expect(await writer.revoke(name, { kind: 'account', id })).toBe(true);
      expect(await scopes(id)).toEqual([]);
      expect(await writer.revoke(name, { kind: 'account', id })).toBe(false);
    });

    it('changing or deleting a role reaches its holders at once', async () => {
      const name = uniqueId('staff');
      await writer.create({ name, permissions: [{ resourceServer: API, scope: 'read' }] });
      const [first, second] = [await account(), await account()];
      await writer.grant(name, { kind: 'account', id: first });
      await writer.grant(name, { kind: 'account', id: second });
      await settle();
      expect(await scopes(first)).toEqual(['read']);
      expect(await scopes(second)).toEqual(['read']);
      await writer.setPermissions(name, [{ resourceServer: API, scope: 'write' }]);
      expect(await scopes(first)).toEqual(['write']);
      expect(await scopes(second)).toEqual(['write']);
      await settle();
      expect(await scopes(first)).toEqual(['write']);
      expect((await reader.permissionsFor(second)).names).toEqual([name]);
      await writer.delete(name);
      expect(await scopes(first)).toEqual([]);
      expect((await reader.permissionsFor(second)).names).toEqual([]);
      await expect(writer.show(name)).rejects.toMatchObject({ code: 'not_found' });
    });

    it('an API deleted and registered again, or a client deleted and registered again, starts without the old permissions', async () => {
      const api = `https://${uniqueId('again').toLowerCase()}.example.test`;
      await apis.create({ identifier: api, name: 'Again', access: 'roles', scopes: [{ scope: 'read' }] });
      const name = uniqueId('again');
      await writer.create({ name, permissions: [{ resourceServer: api, scope: 'read' }] });
      const id = await account();
      await writer.grant(name, { kind: 'account', id });
      const worker = await clients.create({ name: 'Worker', type: 'confidential', grantTypes: ['client_credentials'] });
      await writer.grant(name, { kind: 'client', id: worker.client.clientId });
      await settle();
      expect((await reader.permissionsFor(id)).scopesOn((await apis.find(api))!)).toEqual(['read']);
      expect((await reader.clientPermissionsFor(worker.client.clientId)).names).toEqual([name]);

      await apis.delete(api);
      await apis.create({ identifier: api, name: 'Again', access: 'roles', scopes: [{ scope: 'read' }] });
      expect((await reader.permissionsFor(id)).scopesOn((await apis.find(api))!)).toEqual([]);
      expect((await writer.show(name)).permissions).toEqual([]);

      await settle();
      expect((await reader.clientPermissionsFor(worker.client.clientId)).names).toEqual([name]);
      await clients.delete(worker.client.clientId);
      await clients.create({ name: 'Worker', type: 'confidential', grantTypes: ['client_credentials'], clientId: worker.client.clientId });
      expect((await reader.clientPermissionsFor(worker.client.clientId)).names).toEqual([]);
    });

    it('an account deleted takes its role assignments with it', async () => {
      const name = uniqueId('r');
      await writer.create({ name });
      const id = await account();
      await writer.grant(name, { kind: 'account', id });
      await db('accounts').where({ id }).delete();
      expect(await db('account_roles').where({ account_id: id })).toEqual([]);
      expect((await writer.show(name)).users).toEqual([]);
    });
  });
}
