import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PasskeyRefused, Passkeys, type PasskeyRefusal } from '../../src/domain/passkeys.ts';
import type { Database } from '../../src/store/db.ts';
import { BackendPool, TIER_PAIRS, uniqueId } from '../support/adapter-backends.ts';
import { SoftwarePasskey } from '../support/software-passkey.ts';

const pool = new BackendPool();
afterAll(() => pool.closeAll());

const RP_ID = 'id.example.test';
const ORIGIN = 'https://id.example.test';

async function createAccount(db: Database) {
  const account = { id: randomUUID(), username: uniqueId('user') };
  await db('accounts').insert(account);
  return account;
}

async function refusal(attempt: Promise<unknown>): Promise<PasskeyRefusal> {
  const error = await attempt.then(() => undefined, (thrown: unknown) => thrown);
  expect(error).toBeInstanceOf(PasskeyRefused);
  return (error as PasskeyRefused).reason;
}

const handleOf = (accountId: string) => Buffer.from(accountId).toString('base64url');

for (const pair of TIER_PAIRS) {
  describe.runIf(pair.enabled)(`passkeys on ${pair.title}`, () => {
    const [sql, kvStore] = [pool.use(pair.sql), pool.use(pair.kv)];
    let db: Database;
    let passkeys: Passkeys;

    beforeAll(() => {
      db = sql().db;
      passkeys = new Passkeys(db, kvStore().kv, { rpId: RP_ID, origin: ORIGIN, userVerification: 'required' });
    });

    /** An account with one registered passkey. */
    async function registered() {
      const account = await createAccount(db);
      const key = new SoftwarePasskey(RP_ID, ORIGIN);
      const ceremony = `register:${account.id}`;
      const stored = await passkeys.register(ceremony, account.id, key.register(await passkeys.registrationOptions(ceremony, account)), 'Laptop');
      return { account, key, stored };
    }

    it('registers a passkey (attestation none, a discoverable credential) and signs in with it, the counter moving on', async () => {
      const { account, key, stored } = await registered();
      expect(stored).toMatchObject({ id: key.id, accountId: account.id, name: 'Laptop', transports: ['internal'], lastUsedAt: null });
      const options = await passkeys.registrationOptions(`register:${account.id}`, account);
      expect(options).toMatchObject({ attestation: 'none', rp: { id: RP_ID }, authenticatorSelection: { residentKey: 'required', userVerification: 'required' } });
      // the passkey it has is excluded, so an authenticator does not make a second one
      expect(options.excludeCredentials?.map((credential) => credential.id)).toEqual([key.id]);
      const ceremony = `signin:${randomUUID()}`;
      const verified = await passkeys.verify(ceremony, key.assert(await passkeys.authenticationOptions(ceremony), handleOf(account.id)));
      expect(verified.passkey.accountId).toBe(account.id);
      expect(verified.userVerified).toBe(true);
      const [after] = await passkeys.list(account.id);
      expect(after?.lastUsedAt).toBeInstanceOf(Date);
      expect(Number((await db('passkeys').where({ id: key.id }).first('counter')).counter)).toBe(1);
    });

    it('refuses a replayed assertion, a wrong or expired challenge, and a wrong origin', async () => {
      const { account, key } = await registered();
      const ceremony = `signin:${randomUUID()}`;
      const options = await passkeys.authenticationOptions(ceremony);
      const response = key.assert(options, handleOf(account.id));
      await passkeys.verify(ceremony, response);
      expect(await refusal(passkeys.verify(ceremony, response))).toBe<PasskeyRefusal>('replayed');
      // the same answer to a new challenge of the same sign-in
      await passkeys.authenticationOptions(ceremony);
      expect(await refusal(passkeys.verify(ceremony, response))).toBe<PasskeyRefusal>('replayed');

      const other = `signin:${randomUUID()}`;
      await passkeys.authenticationOptions(other);
      expect(await refusal(passkeys.verify(other, key.assert({ challenge: 'bm90IHRoZSBjaGFsbGVuZ2U' }, handleOf(account.id))))).toBe<PasskeyRefusal>('wrong_challenge');
      expect(await refusal(passkeys.verify(`signin:${randomUUID()}`, key.assert({ challenge: 'bmV2ZXIgaXNzdWVk' }, handleOf(account.id))))).toBe<PasskeyRefusal>('expired_challenge');

      const phished = `signin:${randomUUID()}`;
      const phishedOptions = await passkeys.authenticationOptions(phished);
      expect(await refusal(passkeys.verify(phished, key.assert(phishedOptions, handleOf(account.id), { origin: 'https://id.example.test.evil.example' })))).toBe<PasskeyRefusal>('wrong_origin');
      // a key made for another site's relying-party id does not sign for this one
      const elsewhere = `signin:${randomUUID()}`;
      expect(await refusal(passkeys.verify(elsewhere, key.assert(await passkeys.authenticationOptions(elsewhere), handleOf(account.id), { rpId: 'evil.example' })))).toBe<PasskeyRefusal>('bad_signature');
    });

    it('refuses an unknown credential, another account’s, a bad signature, a user not verified and malformed input', async () => {
      const { account, key } = await registered();
      const stranger = new SoftwarePasskey(RP_ID, ORIGIN);
      const first = `signin:${randomUUID()}`;
      expect(await refusal(passkeys.verify(first, stranger.assert(await passkeys.authenticationOptions(first), handleOf(account.id))))).toBe<PasskeyRefusal>('unknown_credential');

      const { account: other } = await registered();
      const step = `step:${randomUUID()}`;
      expect(await refusal(passkeys.verify(step, key.assert(await passkeys.authenticationOptions(step, other.id), handleOf(account.id)), other.id))).toBe<PasskeyRefusal>('other_account');
      const handle = `signin:${randomUUID()}`;
      expect(await refusal(passkeys.verify(handle, key.assert(await passkeys.authenticationOptions(handle), handleOf(other.id))))).toBe<PasskeyRefusal>('other_account');

      const forged = `signin:${randomUUID()}`;
      const genuine = JSON.parse(key.assert(await passkeys.authenticationOptions(forged), handleOf(account.id))) as { response: { signature: string } };
      genuine.response.signature = stranger.assert({ challenge: 'eA' }, '').replace(/^[\s\S]*"signature":"([^"]+)"[\s\S]*$/, '$1');
      expect(await refusal(passkeys.verify(forged, JSON.stringify(genuine)))).toBe<PasskeyRefusal>('bad_signature');

      const absent = `signin:${randomUUID()}`;
      expect(await refusal(passkeys.verify(absent, key.assert(await passkeys.authenticationOptions(absent), handleOf(account.id), { userVerified: false })))).toBe<PasskeyRefusal>('user_not_verified');

      for (const malformed of ['', 'not json', '[]', '{"id":1}', JSON.stringify({ id: 'x', response: { clientDataJSON: '%%%' } }), 'x'.repeat(20_000)]) {
        expect(await refusal(passkeys.verify(`signin:${randomUUID()}`, malformed))).toBe<PasskeyRefusal>('malformed');
      }
    });

    it('refuses a counter that does not move on (a cloned authenticator) and keeps the stored one', async () => {
      const { account, key } = await registered();
      for (let i = 0; i < 3; i++) {
        const ceremony = `signin:${randomUUID()}`;
        await passkeys.verify(ceremony, key.assert(await passkeys.authenticationOptions(ceremony), handleOf(account.id)));
      }
      for (const counter of [3, 1, 0]) {
        const ceremony = `signin:${randomUUID()}`;
        const error = await passkeys.verify(ceremony, key.assert(await passkeys.authenticationOptions(ceremony), handleOf(account.id), { counter })).catch((thrown: unknown) => thrown);
        expect(error).toBeInstanceOf(PasskeyRefused);
        expect(error).toMatchObject({ reason: 'counter_regressed', accountId: account.id, credentialId: key.id });
      }
      expect(Number((await db('passkeys').where({ id: key.id }).first('counter')).counter)).toBe(3);
    });

    it('refuses a registration answering another challenge or from another origin, and a credential registered twice', async () => {
      const account = await createAccount(db);
      const ceremony = `register:${account.id}`;
      const key = new SoftwarePasskey(RP_ID, ORIGIN);
      await passkeys.registrationOptions(ceremony, account);
      expect(await refusal(passkeys.register(ceremony, account.id, key.register({ challenge: 'b3RoZXI' }), 'x'))).toBe<PasskeyRefusal>('wrong_challenge');
      const options = await passkeys.registrationOptions(ceremony, account);
      expect(await refusal(passkeys.register(ceremony, account.id, key.register(options, { origin: 'https://evil.example' }), 'x'))).toBe<PasskeyRefusal>('wrong_origin');
      await passkeys.register(ceremony, account.id, key.register(await passkeys.registrationOptions(ceremony, account)), 'first');
      const { account: other } = await registered();
      const again = `register:${other.id}`;
      expect(await refusal(passkeys.register(again, other.id, key.register(await passkeys.registrationOptions(again, other)), 'stolen'))).toBe<PasskeyRefusal>('already_registered');
      expect((await passkeys.list(account.id)).map((passkey) => passkey.name)).toEqual(['first']);
    });

    it('is unavailable at an issuer reached by IP address (WebAuthn takes a domain)', () => {
      expect(passkeys.available).toBe(true);
      expect(new Passkeys(db, kvStore().kv, { rpId: '127.0.0.1', origin: 'http://127.0.0.1:3000', userVerification: 'required' }).available).toBe(false);
      expect(new Passkeys(db, kvStore().kv, { rpId: '::1', origin: 'http://[::1]:3000', userVerification: 'required' }).available).toBe(false);
    });

    it('removes only the account’s own passkey', async () => {
      const { account, key } = await registered();
      const { account: other } = await registered();
      expect(await passkeys.remove(other.id, key.id)).toBe(false);
      expect(await passkeys.remove(account.id, key.id)).toBe(true);
      expect(await passkeys.list(account.id)).toEqual([]);
      expect(await passkeys.remove(account.id, key.id)).toBe(false);
    });
  });
}
