import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { Clients } from '../../src/domain/clients.ts';
import { ClientStore } from '../../src/oidc/adapter/client-store.ts';
import { createAdapterFactory } from '../../src/oidc/adapter/index.ts';
import { KvModelStore } from '../../src/oidc/adapter/kv-model-store.ts';
import { CachedSqlModelStore } from '../../src/oidc/adapter/cached-sql-model-store.ts';
import { SqlModelStore } from '../../src/oidc/adapter/sql-model-store.ts';
import { UnavailableGuard } from '../../src/oidc/adapter/unavailable-guard.ts';
import { createTokenIds, HASHED_MODELS } from '../../src/oidc/adapter/token-ids.ts';
import { HashedTokenStore } from '../../src/oidc/adapter/hashed-token-store.ts';
import { RecordCache } from '../../src/store/record-cache.ts';
import type { Database } from '../../src/store/db.ts';
import { createEnvelope } from '../../src/store/envelope.ts';
import type { KvStore } from '../../src/store/kv/index.ts';
import { uniqueId } from '../support/adapter-backends.ts';

// DESIGN.md, "Two storage tiers": listed here rather than imported from model-tiers.ts, so moving
// a model to the other tier is a deliberate change to this test too.
const DURABLE = ['Grant', 'RefreshToken', 'Session', 'RegistrationAccessToken', 'InitialAccessToken'];
const EPHEMERAL = [
  'AuthorizationCode',
  'AccessToken',
  'Interaction',
  'ClientCredentials',
  'PushedAuthorizationRequest',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'ReplayDetection',
  'PreAuthorizedCode',
];

const tokenIds = createTokenIds(randomBytes(32));
/** Where the tier's own store keeps the record the engine saved under `id`. */
const storedAs = (model: string, id: string) => (HASHED_MODELS.has(model) ? tokenIds.storageId(id) : id);

/** createAdapterFactory sends each model to its tier; `tiers()` gives the opened database and KV. */
export function factoryCases(tiers: () => { db: Database; kv: KvStore }): void {
  const setup = () => {
    const { db, kv } = tiers();
    const clients = new Clients(db, createEnvelope(randomBytes(32)));
    return { db, kv, clients, adapterFor: createAdapterFactory({ db, kv, recordCache: new RecordCache(kv, 300), clients, issuer: 'https://id.example.test', tokenIds }) };
  };

  it.each(DURABLE)('%s goes to the durable tier (SQL)', async (model) => {
    const { db, kv, adapterFor } = setup();
    const adapter = adapterFor(model);
    // the records read on most token requests sit behind the shared cache; every store behind the guard that answers 503 for an outage
    expect(adapter).toBeInstanceOf(UnavailableGuard);
    const expected = HASHED_MODELS.has(model) ? HashedTokenStore : ['Grant', 'Session'].includes(model) ? CachedSqlModelStore : SqlModelStore;
    expect((adapter as UnavailableGuard).store).toBeInstanceOf(expected);
    const id = uniqueId();
    await adapter.upsert(id, { accountId: 'a', grantId: uniqueId('grant') }, 60);
    expect(await new SqlModelStore(db, model).find(storedAs(model, id))).toBeDefined();
    expect(await new KvModelStore(kv, model).find(storedAs(model, id))).toBeUndefined();
  });

  it.each(EPHEMERAL)('%s goes to the ephemeral tier (KV)', async (model) => {
    const { db, kv, adapterFor } = setup();
    const adapter = adapterFor(model);
    expect((adapter as UnavailableGuard).store).toBeInstanceOf(HASHED_MODELS.has(model) ? HashedTokenStore : KvModelStore);
    const id = uniqueId();
    await adapter.upsert(id, { accountId: 'a', grantId: uniqueId('grant') }, 60);
    expect(await new KvModelStore(kv, model).find(storedAs(model, id))).toBeDefined();
    expect(await new SqlModelStore(db, model).find(storedAs(model, id))).toBeUndefined();
  });

  it.each([...HASHED_MODELS])('%s is stored under the keyed hash of its value, which no stored field repeats', async (model) => {
    const { db, kv, adapterFor } = setup();
    const adapter = adapterFor(model);
    const value = uniqueId('secret-value');
    await adapter.upsert(value, { jti: value, kind: model, accountId: 'a', grantId: uniqueId('grant') }, 60);
    const tierStore = DURABLE.includes(model) ? new SqlModelStore(db, model) : new KvModelStore(kv, model);
    expect(await tierStore.find(value)).toBeUndefined();
    const stored = await tierStore.find(tokenIds.storageId(value));
    expect(stored).toBeDefined();
    expect(JSON.stringify(stored)).not.toContain(value);
    // the engine finds it by its value and gets the value back as jti
    expect(await adapter.find(value)).toMatchObject({ jti: value, accountId: 'a' });
    await adapter.destroy(value);
    expect(await adapter.find(value)).toBeUndefined();
  });

  it('Client reads the registered clients and refuses writes', async () => {
    const { clients, adapterFor } = setup();
    const adapter = adapterFor('Client');
    expect((adapter as UnavailableGuard).store).toBeInstanceOf(ClientStore);
    const { client } = await clients.create({ name: 'Factory test', type: 'public', redirectUris: ['https://app.example/cb'] });
    expect(await adapter.find(client.clientId)).toMatchObject({ client_id: client.clientId, redirect_uris: ['https://app.example/cb'] });
    expect(await adapter.find(uniqueId('client'))).toBeUndefined();
    await expect(adapter.upsert(client.clientId, {}, 60)).rejects.toBeInstanceOf(TypeError);
  });

  it('revokeByGrantId through each model reaches both tiers and spares other grants', async () => {
    const { adapterFor } = setup();
    const [grant, otherGrant] = [uniqueId('grant'), uniqueId('grant')];
    const ids = { refresh: uniqueId('rt'), access: uniqueId('at'), otherRefresh: uniqueId('rt'), otherAccess: uniqueId('at') };
    await adapterFor('RefreshToken').upsert(ids.refresh, { grantId: grant }, 60);
    await adapterFor('AccessToken').upsert(ids.access, { grantId: grant }, 60);
    await adapterFor('RefreshToken').upsert(ids.otherRefresh, { grantId: otherGrant }, 60);
    await adapterFor('AccessToken').upsert(ids.otherAccess, { grantId: otherGrant }, 60);

    // what oidc-provider's revoke helper does: each grant-bound model's adapter in turn
    await Promise.all(['AccessToken', 'RefreshToken', 'AuthorizationCode'].map((model) => adapterFor(model).revokeByGrantId(grant)));

    expect(await adapterFor('RefreshToken').find(ids.refresh)).toBeUndefined();
    expect(await adapterFor('AccessToken').find(ids.access)).toBeUndefined();
    expect(await adapterFor('RefreshToken').find(ids.otherRefresh)).toBeDefined();
    expect(await adapterFor('AccessToken').find(ids.otherAccess)).toBeDefined();
  });
}
