import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import { describe, expect, it } from 'vitest';
import { sleep, uniqueId } from '../support/adapter-backends.ts';

/**
 * The oidc-provider Adapter contract (upsert, find, findByUid, findByUserCode, consume, destroy,
 * revokeByGrantId), written once and run against every storage backend by adapter.test.ts.
 * `store(model)` builds the adapter for one model on the backend under test. Every case uses
 * fresh ids, so the cases can share one opened backend with other suites.
 */

// Grant sources that must be used once (listed here, not imported, so a model dropped from
// CONTESTED_MODELS fails this suite).
const CONTESTED = ['AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest', 'PreAuthorizedCode'];

const nowSeconds = () => Math.floor(Date.now() / 1000);

function token(extra: AdapterPayload = {}): AdapterPayload {
  const iat = nowSeconds();
  return { accountId: 'account-1', clientId: 'client-1', scope: 'openid email', iat, exp: iat + 60, jti: uniqueId('jti'), ...extra };
}

/** Settles every call and sorts them into winners and losers. */
async function race(calls: Array<Promise<void>>) {
  const results = await Promise.allSettled(calls);
  return {
    won: results.filter((result) => result.status === 'fulfilled').length,
    reasons: results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : [])),
  };
}

function expectInvalidGrant(reason: unknown) {
  expect(reason).toBeInstanceOf(errors.InvalidGrant);
  expect((reason as errors.InvalidGrant).error).toBe('invalid_grant');
}

export function adapterContract(store: (model: string) => Adapter): void {
  describe('upsert and find', () => {
    it('find returns the payload that upsert stored', async () => {
      const id = uniqueId();
      const payload = token({ grantId: uniqueId('grant') });
      await store('AccessToken').upsert(id, payload, 60);
      expect(await store('AccessToken').find(id)).toStrictEqual(payload);
    });

    it('upsert of an existing id replaces the payload', async () => {
      const id = uniqueId();
      await store('Grant').upsert(id, { accountId: 'a', clientId: 'c', openid: { scope: 'openid email' } }, 60);
      const replacement: AdapterPayload = { accountId: 'a', clientId: 'c', resources: { 'https://api.example': 'read' } };
      await store('Grant').upsert(id, replacement, 60);
      expect(await store('Grant').find(id)).toStrictEqual(replacement);
    });

    it('instances of one id under two models are kept apart', async () => {
      const id = uniqueId();
      await store('AccessToken').upsert(id, token({ kind: 'AccessToken' }), 60);
      await store('ClientCredentials').upsert(id, token({ kind: 'ClientCredentials' }), 60);
      expect((await store('AccessToken').find(id))?.kind).toBe('AccessToken');
      expect((await store('ClientCredentials').find(id))?.kind).toBe('ClientCredentials');
    });

    it('find, findByUid and findByUserCode of unknown values are undefined', async () => {
      expect(await store('Session').find(uniqueId())).toBeUndefined();
      expect(await store('Session').findByUid(uniqueId('uid'))).toBeUndefined();
      expect(await store('DeviceCode').findByUserCode(uniqueId('code'))).toBeUndefined();
    });

    it('findByUid returns the instance carrying that uid', async () => {
      const id = uniqueId();
      const payload = { accountId: 'account-1', uid: uniqueId('uid'), loginTs: nowSeconds(), authorizations: {} };
      await store('Session').upsert(id, payload, 60);
      expect(await store('Session').findByUid(payload.uid)).toStrictEqual(payload);
      expect(await store('Interaction').findByUid(payload.uid)).toBeUndefined();
    });

    it('findByUserCode returns the instance carrying that user code', async () => {
      const id = uniqueId();
      const payload = token({ userCode: uniqueId('ABCD'), deviceInfo: { ip: '192.0.2.1', ua: 'curl' } });
      await store('DeviceCode').upsert(id, payload, 60);
      expect(await store('DeviceCode').findByUserCode(payload.userCode!)).toStrictEqual(payload);
    });
  });

  it('an instance upserted with expiresIn 1 is gone after 1.1 s; a longer-lived one stays', async () => {
    const [short, long] = [uniqueId('short'), uniqueId('long')];
    const payload = token({ uid: uniqueId('uid'), userCode: uniqueId('CODE') });
    await store('DeviceCode').upsert(short, payload, 1);
    await store('DeviceCode').upsert(long, token(), 60);
    expect(await store('DeviceCode').find(short)).toStrictEqual(payload);
    await sleep(1100);
    expect(await store('DeviceCode').find(short)).toBeUndefined();
    expect(await store('DeviceCode').findByUid(payload.uid!)).toBeUndefined();
    expect(await store('DeviceCode').findByUserCode(payload.userCode!)).toBeUndefined();
    expect(await store('DeviceCode').find(long)).toBeDefined();
  });

  describe('consume', () => {
    it('marks the instance consumed, in epoch seconds, on find', async () => {
      const id = uniqueId();
      await store('AuthorizationCode').upsert(id, token(), 60);
      expect((await store('AuthorizationCode').find(id))?.consumed).toBeUndefined();
      const before = nowSeconds();
      await store('AuthorizationCode').consume(id);
      const consumed: unknown = (await store('AuthorizationCode').find(id))?.consumed;
      expect(Number.isInteger(consumed)).toBe(true);
      // the database clock may differ a little from ours
      expect(Math.abs((consumed as number) - before)).toBeLessThanOrEqual(5);
    });

    it.each(CONTESTED)('of a %s is atomic: of 10 concurrent calls one wins, nine get invalid_grant', async (model) => {
      const id = uniqueId();
      await store(model).upsert(id, token({ grantId: uniqueId('grant') }), 60);
      const { won, reasons } = await race(Array.from({ length: 10 }, () => store(model).consume(id)));
      expect(won).toBe(1);
      expect(reasons).toHaveLength(9);
      for (const reason of reasons) expectInvalidGrant(reason);
      expect(typeof (await store(model).find(id))?.consumed).toBe('number');
    });

    it('of an already consumed RefreshToken is refused', async () => {
      const id = uniqueId();
      await store('RefreshToken').upsert(id, token(), 60);
      await store('RefreshToken').consume(id);
      await store('RefreshToken').consume(id).then(
        () => expect.unreachable('the second consume succeeded'),
        expectInvalidGrant,
      );
    });

    it('of a PushedAuthorizationRequest twice refuses the second as an invalid request_uri', async () => {
      const id = uniqueId();
      await store('PushedAuthorizationRequest').upsert(id, { request: 'eyJhbGciOiJub25lIn0.e30.', dupe: false }, 60);
      await store('PushedAuthorizationRequest').consume(id);
      await expect(store('PushedAuthorizationRequest').consume(id)).rejects.toMatchObject({ error: 'invalid_request_uri' });
      expect(typeof (await store('PushedAuthorizationRequest').find(id))?.consumed).toBe('number');
    });

    it('keeps the mark when the instance is upserted again', async () => {
      const id = uniqueId();
      await store('RefreshToken').upsert(id, token({ rotations: 0 }), 60);
      await store('RefreshToken').consume(id);
      await store('RefreshToken').upsert(id, token({ rotations: 1 }), 60);
      expect(typeof (await store('RefreshToken').find(id))?.consumed).toBe('number');
    });
  });

  describe('destroy', () => {
    it('removes the instance from find, findByUid and findByUserCode', async () => {
      const id = uniqueId();
      const payload = token({ uid: uniqueId('uid'), userCode: uniqueId('CODE') });
      await store('DeviceCode').upsert(id, payload, 60);
      await store('DeviceCode').consume(id);
      await store('DeviceCode').destroy(id);
      expect(await store('DeviceCode').find(id)).toBeUndefined();
      expect(await store('DeviceCode').findByUid(payload.uid!)).toBeUndefined();
      expect(await store('DeviceCode').findByUserCode(payload.userCode!)).toBeUndefined();
    });

    it('a new instance under a destroyed id starts unconsumed', async () => {
      const id = uniqueId();
      await store('AuthorizationCode').upsert(id, token(), 60);
      await store('AuthorizationCode').consume(id);
      await store('AuthorizationCode').destroy(id);
      await store('AuthorizationCode').upsert(id, token(), 60);
      expect((await store('AuthorizationCode').find(id))?.consumed).toBeUndefined();
      await store('AuthorizationCode').consume(id);
    });

    it('of an unknown id does nothing', async () => {
      await expect(store('Session').destroy(uniqueId())).resolves.toBeUndefined();
    });
  });

  describe('revokeByGrantId', () => {
    it("removes the model's instances under that grant and nothing else", async () => {
      const [grant, otherGrant] = [uniqueId('grant'), uniqueId('grant')];
      const ids = { a: uniqueId('a'), b: uniqueId('b'), other: uniqueId('other'), loose: uniqueId('loose'), refresh: uniqueId('rt') };
      await store('AccessToken').upsert(ids.a, token({ grantId: grant }), 60);
      await store('AccessToken').upsert(ids.b, token({ grantId: grant }), 60);
      await store('AccessToken').upsert(ids.other, token({ grantId: otherGrant }), 60);
      await store('AccessToken').upsert(ids.loose, token(), 60);
      await store('RefreshToken').upsert(ids.refresh, token({ grantId: grant }), 60);

      await store('AccessToken').revokeByGrantId(grant);

      expect(await store('AccessToken').find(ids.a)).toBeUndefined();
      expect(await store('AccessToken').find(ids.b)).toBeUndefined();
      expect(await store('AccessToken').find(ids.other)).toBeDefined();
      expect(await store('AccessToken').find(ids.loose)).toBeDefined();
      expect(await store('RefreshToken').find(ids.refresh)).toBeDefined();
    });

    it('removes consumed instances too, and their consumption mark', async () => {
      const grant = uniqueId('grant');
      const id = uniqueId();
      await store('RefreshToken').upsert(id, token({ grantId: grant }), 60);
      await store('RefreshToken').consume(id);
      await store('RefreshToken').revokeByGrantId(grant);
      expect(await store('RefreshToken').find(id)).toBeUndefined();
      await store('RefreshToken').upsert(id, token({ grantId: grant }), 60);
      expect((await store('RefreshToken').find(id))?.consumed).toBeUndefined();
    });

    it('of an unknown grant does nothing', async () => {
      await expect(store('AccessToken').revokeByGrantId(uniqueId('grant'))).resolves.toBeUndefined();
    });
  });

  describe('payloads round-trip unchanged', () => {
    it('nested objects, arrays (empty ones too), numbers, booleans, null and unicode', async () => {
      const id = uniqueId();
      const payload: AdapterPayload = {
        accountId: 'ünïcødé-账户-🙂',
        claims: { id_token: { email: null, 'https://example.com/claims/ünï': { essential: true, values: ['a', 'b'] } }, userinfo: {} },
        resource: ['https://api.example.com', 'https://пример.example'],
        amr: [],
        rar: [{ type: 'payment', locations: [], instructedAmount: { currency: 'EUR', amount: '123.50' } }],
        extra: {
          deep: { deeper: { deepest: [[], [[]], {}, [1, 2.5, -3, 0, Number.MAX_SAFE_INTEGER]] } },
          flags: [true, false, null],
          text: 'עברית العربية 日本語 e\u0301 👩‍👩‍👧 𝕏 \uE000 private use',
          quoting: 'quote " backslash \\ newline \n tab \t slash / <script>',
        },
        nonce: '',
      };
      await store('Grant').upsert(id, payload, 60);
      expect(await store('Grant').find(id)).toStrictEqual(payload);
    });

    it('strings PostgreSQL jsonb cannot hold (U+0000, lone surrogates), in values and keys', async () => {
      // a client controls `nonce` and the claims request, which RefreshToken and Grant payloads carry
      const id = uniqueId();
      const payload: AdapterPayload = {
        nonce: 'n\u0000nce',
        claims: { userinfo: { 'claim\u0000name': { value: 'lone \ud800 high' } }, id_token: { '\udfff': null } },
        acr: '\uE000looks like an escape',
        amr: ['\uE000', 'pwd\u0000'],
      };
      await store('RefreshToken').upsert(id, payload, 60);
      expect(await store('RefreshToken').find(id)).toStrictEqual(payload);
    });
  });
}
