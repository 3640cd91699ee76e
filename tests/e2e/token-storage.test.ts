import * as oidc from 'openid-client';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { rekeyLegacyTokens } from '../../src/oidc/adapter/rekey-legacy-tokens.ts';
import { createTokenIds } from '../../src/oidc/adapter/token-ids.ts';
import { availableBackends, REDIS_URL } from '../support/backends.ts';
import { signInAndExchange, useSeededServer, type SeededServer } from '../support/relying-party.ts';

const tokenIdsOf = (t: SeededServer) => createTokenIds(t.server.storage.envelope.derive('token-ids'));

/** Everything the durable tier holds about the engine's records, as text: what a dump would show. */
async function durableDump(t: SeededServer): Promise<string> {
  const rows = await t.server.storage.db('oidc_payloads').select('model', 'id', 'payload', 'grant_id', 'uid');
  return JSON.stringify(rows);
}

/** Every key and value under this server's Redis prefix: what a snapshot would show. */
async function redisDump(prefix: string): Promise<string> {
  const redis = new Redis(REDIS_URL!);
  try {
    const parts: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const type = await redis.type(key);
        parts.push(key, type === 'set' ? (await redis.smembers(key)).join(' ') : ((await redis.get(key)) ?? ''));
      }
    } while (cursor !== '0');
    return parts.join('\n');
  } finally {
    await redis.quit();
  }
}

describe.each(availableBackends())('token values at rest on %s', (backend) => {
  const t = useSeededServer(backend);

  it('no stored record holds a code, an access token, a refresh token or a client-credentials token a dump could redeem', async () => {
    const plain = await signInAndExchange(t.server, t.config, t.fixture);
    const api = await signInAndExchange(t.server, t.config, t.fixture, { scope: 'openid offline_access read' });
    const rotated = await oidc.refreshTokenGrant(t.config, plain.tokens.refresh_token!);
    const service = await oidc.clientCredentialsGrant(t.config, { scope: 'read' });
    const secrets = [
      plain.callback.searchParams.get('code')!,
      plain.tokens.access_token,
      plain.tokens.refresh_token!,
      rotated.access_token,
      rotated.refresh_token!,
      api.tokens.refresh_token!,
      service.access_token,
    ];
    const durable = await durableDump(t);
    expect(durable).toContain('RefreshToken');
    for (const secret of secrets) expect(durable).not.toContain(secret);
    if (backend === 'postgres+redis') {
      const ephemeral = await redisDump(t.server.redisPrefix!);
      expect(ephemeral).toContain('AccessToken');
      for (const secret of secrets) expect(ephemeral).not.toContain(secret);
    } else {
      for (const secret of [plain.tokens.access_token, rotated.access_token]) expect(await t.server.storage.kv.get(`oidc:AccessToken:{${secret}}`)).toBeUndefined();
    }
    // and each still works for its holder
    expect((await oidc.tokenIntrospection(t.config, rotated.access_token)).active).toBe(true);
    expect((await oidc.tokenIntrospection(t.config, rotated.refresh_token!)).active).toBe(true);
  });

  it('a refresh token stored before values were hashed is moved at start and keeps working', async () => {
    const { tokens } = await signInAndExchange(t.server, t.config, t.fixture);
    const value = tokens.refresh_token!;
    const ids = tokenIdsOf(t);
    const { db } = t.server.storage;
    // put the row back the way earlier versions stored it: the value as id, repeated in the payload
    await db('oidc_payloads')
      .where({ model: 'RefreshToken', id: ids.storageId(value) })
      .update({ id: value, payload: db.raw('payload || ?::jsonb', [JSON.stringify({ jti: value })]) });
    expect(await rekeyLegacyTokens(db, ids)).toBe(1);
    expect(await rekeyLegacyTokens(db, ids)).toBe(0);
    expect(await durableDump(t)).not.toContain(value);
    const next = await oidc.refreshTokenGrant(t.config, value);
    expect((await oidc.tokenIntrospection(t.config, next.access_token)).active).toBe(true);
  });

  it('an access token stored before values were hashed is still honoured while it can live', async () => {
    const { tokens } = await signInAndExchange(t.server, t.config, t.fixture);
    const value = tokens.access_token;
    const { kv } = t.server.storage;
    const hashedKey = `oidc:AccessToken:{${tokenIdsOf(t).storageId(value)}}`;
    const stored = JSON.parse((await kv.get(hashedKey))!) as Record<string, unknown>;
    await kv.set(`oidc:AccessToken:{${value}}`, JSON.stringify({ ...stored, jti: value }), 600);
    await kv.del([hashedKey]);
    expect((await oidc.tokenIntrospection(t.config, value)).active).toBe(true);
    expect(await oidc.fetchUserInfo(t.config, value, t.fixture.accountId)).toMatchObject({ sub: t.fixture.accountId });
    await oidc.tokenRevocation(t.config, value);
    expect((await oidc.tokenIntrospection(t.config, value)).active).toBe(false);
  });
});
