import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT_CLIENT_ID, ensureAccountClient } from '../../src/account/account-client.ts';
import { Clients } from '../../src/domain/clients.ts';
import { createEnvelope } from '../../src/store/envelope.ts';
import { SQL_BACKENDS, type OpenSql } from '../support/adapter-backends.ts';

describe.each(SQL_BACKENDS.filter((backend) => backend.enabled))('the account pages client on $title', (backend) => {
  let sql: OpenSql;
  const envelope = createEnvelope(randomBytes(32));
  // one Clients per "instance": each has its own cache, as separate processes would
  const instance = () => new Clients(sql.db, envelope, { cacheTtlMs: 30_000 });

  beforeAll(async () => {
    sql = await backend.open();
  });
  afterAll(() => sql?.close());

  it('is registered once when several instances start together, as a first-party public client of this issuer', async () => {
    const issuer = 'https://id.example.test';
    await Promise.all(Array.from({ length: 6 }, () => ensureAccountClient(instance(), issuer)));
    const all = (await instance().list()).filter((client) => client.clientId === ACCOUNT_CLIENT_ID);
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({
      name: 'Your account',
      type: 'public',
      firstParty: true,
      redirectUris: [`${issuer}/account/callback`],
      grantTypes: ['authorization_code'],
      scopes: ['openid'],
    });
    expect((await instance().metadataFor(ACCOUNT_CLIENT_ID))?.token_endpoint_auth_method).toBe('none');
    // and again: nothing changes
    const before = await instance().get(ACCOUNT_CLIENT_ID);
    await ensureAccountClient(instance(), issuer);
    expect((await instance().get(ACCOUNT_CLIENT_ID)).createdAt).toEqual(before.createdAt);
  });

  it('is registered again when the issuer moved', async () => {
    await ensureAccountClient(instance(), 'https://id.example.test');
    await ensureAccountClient(instance(), 'http://localhost:4000');
    expect((await instance().get(ACCOUNT_CLIENT_ID)).redirectUris).toEqual(['http://localhost:4000/account/callback']);
  });

  it('comes back after it was deleted', async () => {
    await instance().delete(ACCOUNT_CLIENT_ID);
    await ensureAccountClient(instance(), 'http://localhost:4000');
    expect((await instance().get(ACCOUNT_CLIENT_ID)).redirectUris).toEqual(['http://localhost:4000/account/callback']);
  });
});
