import { randomBytes, randomUUID } from 'node:crypto';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFound, Conflict } from '../../src/domain/errors.ts';
import { Totp } from '../../src/domain/totp.ts';
import type { Database } from '../../src/store/db.ts';
import { createEnvelope, EnvelopeError } from '../../src/store/envelope.ts';
import { TOTP_SECRET_SEALED } from '../../src/store/sealed-columns.ts';
import { BackendPool, TIER_PAIRS, uniqueId } from '../support/adapter-backends.ts';

const pool = new BackendPool();
afterAll(() => pool.closeAll());

const STEP_MS = 30_000;
const ISSUER = 'Postern Test';

async function createAccount(db: Database): Promise<string> {
  const id = randomUUID();
  await db('accounts').insert({ id, username: uniqueId('user') });
  return id;
}

async function storedFactor(db: Database, id: string) {
  return db('accounts').where({ id }).first<{ totp_secret_sealed: string | null; totp_enabled_at: Date | null }>('totp_secret_sealed', 'totp_enabled_at');
}

for (const pair of TIER_PAIRS) {
  describe.runIf(pair.enabled)(`TOTP second factor on ${pair.title}`, () => {
    const [sql, kvStore] = [pool.use(pair.sql), pool.use(pair.kv)];
    const envelope = createEnvelope(randomBytes(32));
    // the middle of a time step, so a code for "the current step" cannot fall into the next one
    const base = Math.floor(Date.now() / STEP_MS) * STEP_MS + STEP_MS / 2;
    let clock = base;
    let totp: Totp;
    let db: Database;

    beforeAll(() => {
      db = sql().db;
      totp = new Totp({ db, kv: kvStore().kv, envelope, issuer: ISSUER, now: () => clock });
    });

    /** The code the authenticator shows `steps` time steps away from the test clock. */
    const codeAt = (secret: string, steps = 0) => generate({ secret, epoch: Math.floor((clock + steps * STEP_MS) / 1000) });

    /** An account with the second factor on, enrolled well before the test clock (so no current step is used up). */
    async function enrolledAccount(): Promise<{ id: string; secret: string }> {
      const id = await createAccount(db);
      clock = base - 10 * STEP_MS;
      const { secret } = await totp.beginEnrolment(id, 'someone@example.com');
      expect(await totp.confirmEnrolment(id, await codeAt(secret))).toBe(true);
      clock = base;
      return { id, secret };
    }

    describe('enrolment', () => {
      it('hands out a 160-bit base32 secret, an otpauth URI carrying issuer, label and secret, and an SVG QR code', async () => {
        const id = await createAccount(db);
        const { secret, otpauthUri, qrSvg } = await totp.beginEnrolment(id, 'ann:smith@example.com');

        expect(secret).toMatch(/^[A-Z2-7]{32}$/); // 32 base32 symbols × 5 bits = 160 bits
        const uri = new URL(otpauthUri);
        expect(uri.protocol).toBe('otpauth:');
        expect(uri.host).toBe('totp');
        // issuer and account are encoded apart, so the colon in the label cannot shift the split
        expect(uri.pathname).toBe('/Postern%20Test:ann%3Asmith%40example.com');
        const [issuer, label] = uri.pathname.slice(1).split(':').map(decodeURIComponent);
        expect({ issuer, label }).toEqual({ issuer: ISSUER, label: 'ann:smith@example.com' });
        expect(Object.fromEntries(uri.searchParams)).toEqual({ secret, issuer: ISSUER, algorithm: 'SHA1', digits: '6', period: '30' });
        expect(otpauthUri).not.toContain('+'); // spaces as %20: several apps show a '+' literally

        expect(qrSvg).toMatch(/^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*>.*<\/svg>$/s);
        expect(qrSvg).toContain('aria-label=');
        expect(qrSvg).not.toMatch(/<script|style=|href=|on\w+=/i);
      });

      it('stores the secret sealed under the master key, pending until confirmed', async () => {
        const id = await createAccount(db);
        const { secret } = await totp.beginEnrolment(id, 'bob');
        const row = await storedFactor(db, id);
        expect(row?.totp_secret_sealed).toMatch(/^v2\./);
        expect(row?.totp_secret_sealed).not.toContain(secret);
        expect(row?.totp_enabled_at).toBeNull();
        // under another master key it does not open
        expect(() => createEnvelope(randomBytes(32)).open(row!.totp_secret_sealed!, TOTP_SECRET_SEALED, id)).toThrow(EnvelopeError);
        expect(await totp.status(id)).toEqual({ enabled: false, enabledAt: null, pending: true });
        expect(await totp.isEnabled(id)).toBe(false);
      });

      it('turns the factor on with a code from the pending secret', async () => {
        const id = await createAccount(db);
        const { secret } = await totp.beginEnrolment(id, 'carol');
        expect(await totp.confirmEnrolment(id, await codeAt(secret))).toBe(true);
        expect(await totp.isEnabled(id)).toBe(true);
        const status = await totp.status(id);
        expect(status).toMatchObject({ enabled: true, pending: false });
        expect(status.enabledAt).toBeInstanceOf(Date);
      });

      it('accepts the code with spaces, as apps show it', async () => {
        const id = await createAccount(db);
        const { secret } = await totp.beginEnrolment(id, 'dave');
        const code = await codeAt(secret);
        expect(await totp.confirmEnrolment(id, ` ${code.slice(0, 3)} ${code.slice(3)} `)).toBe(true);
      });

      it('refuses a wrong or malformed code and changes nothing', async () => {
        const id = await createAccount(db);
        const { secret } = await totp.beginEnrolment(id, 'erin');
        const before = await storedFactor(db, id);
        const right = await codeAt(secret);
        const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
        for (const code of [wrong, '', '12345', right + '0', right.slice(0, 5) + 'a', `${right}\n1`, '１２３４５６'.repeat(10)]) {
          expect(await totp.confirmEnrolment(id, code)).toBe(false);
        }
        expect(await storedFactor(db, id)).toEqual(before);
        expect(await totp.isEnabled(id)).toBe(false);
      });

      it('refuses a code of a pending secret that was replaced by a new enrolment', async () => {
        const id = await createAccount(db);
        const first = await totp.beginEnrolment(id, 'frank');
        const second = await totp.beginEnrolment(id, 'frank');
        expect(second.secret).not.toBe(first.secret);
        expect(await totp.confirmEnrolment(id, await codeAt(first.secret))).toBe(false);
        expect(await totp.confirmEnrolment(id, await codeAt(second.secret))).toBe(true);
      });

      it('shows the pending enrolment again, but never the secret once the factor is on', async () => {
        const id = await createAccount(db);
        const { secret, otpauthUri } = await totp.beginEnrolment(id, 'gina');
        expect(await totp.pendingEnrolment(id, 'gina')).toMatchObject({ secret, otpauthUri });
        expect(await totp.confirmEnrolment(id, await codeAt(secret))).toBe(true);
        expect(await totp.pendingEnrolment(id, 'gina')).toBeUndefined();
        expect(JSON.stringify(await totp.status(id))).not.toContain(secret);
      });

      it('refuses to start again while the factor is on, keeping the enrolled secret', async () => {
        const { id, secret } = await enrolledAccount();
        const before = await storedFactor(db, id);
        const refusal = totp.beginEnrolment(id, 'again');
        await expect(refusal).rejects.toBeInstanceOf(Conflict);
        await expect(refusal).rejects.toMatchObject({ code: 'conflict', status: 409 });
        expect(await storedFactor(db, id)).toEqual(before);
        expect(await totp.verify(id, await codeAt(secret))).toBe(true);
      });

      it('answers NotFound for an unknown account', async () => {
        await expect(totp.beginEnrolment(randomUUID(), 'nobody')).rejects.toBeInstanceOf(NotFound);
        await expect(totp.status(randomUUID())).rejects.toBeInstanceOf(NotFound);
        await expect(totp.disable(randomUUID())).rejects.toBeInstanceOf(NotFound);
        expect(await totp.isEnabled(randomUUID())).toBe(false);
        expect(await totp.confirmEnrolment(randomUUID(), '123456')).toBe(false);
      });

      it('does not take the enrolment code a second time as a sign-in code', async () => {
        const id = await createAccount(db);
        const { secret } = await totp.beginEnrolment(id, 'hank');
        const code = await codeAt(secret);
        expect(await totp.confirmEnrolment(id, code)).toBe(true);
        expect(await totp.verify(id, code)).toBe(false);
      });

      it('enables once when the same confirmation races itself', async () => {
        const id = await createAccount(db);
        const { secret } = await totp.beginEnrolment(id, 'ivy');
        const code = await codeAt(secret);
        const results = await Promise.all(Array.from({ length: 10 }, () => totp.confirmEnrolment(id, code)));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await totp.isEnabled(id)).toBe(true);
      });
    });

    describe('verification', () => {
      it('accepts the code of the current step', async () => {
        const { id, secret } = await enrolledAccount();
        expect(await totp.verify(id, await codeAt(secret))).toBe(true);
      });

      it('accepts the previous and the next step (clock drift), in turn', async () => {
        const { id, secret } = await enrolledAccount();
        expect(await totp.verify(id, await codeAt(secret, -1))).toBe(true);
        expect(await totp.verify(id, await codeAt(secret, 1))).toBe(true);
      });

      it('refuses codes two steps away either side', async () => {
        const { id, secret } = await enrolledAccount();
        expect(await totp.verify(id, await codeAt(secret, -2))).toBe(false);
        expect(await totp.verify(id, await codeAt(secret, 2))).toBe(false);
        // neither refusal used anything up
        expect(await totp.verify(id, await codeAt(secret, -1))).toBe(true);
      });

      it('accepts the next code once time has moved on', async () => {
        const { id, secret } = await enrolledAccount();
        expect(await totp.verify(id, await codeAt(secret))).toBe(true);
        clock = base + STEP_MS;
        try {
          expect(await totp.verify(id, await codeAt(secret))).toBe(true);
        } finally {
          clock = base;
        }
      });

      it('refuses a wrong code, a malformed one, another secret\'s code and a pending factor', async () => {
        const { id, secret } = await enrolledAccount();
        const right = await codeAt(secret);
        const wrong = String((Number(right) + 500_000) % 1_000_000).padStart(6, '0');
        for (const code of [wrong, '', 'abcdef', right.slice(1), `${right}7`, `-${right}`]) expect(await totp.verify(id, code)).toBe(false);

        const other = await enrolledAccount();
        expect(await totp.verify(other.id, right)).toBe(await codeAt(other.secret) === right); // the same six digits by chance only

        const pending = await createAccount(db);
        const { secret: pendingSecret } = await totp.beginEnrolment(pending, 'pending');
        expect(await totp.verify(pending, await codeAt(pendingSecret))).toBe(false);
        expect(await totp.verify(randomUUID(), right)).toBe(false);

        expect(await totp.verify(id, right)).toBe(true);
      });

      it('refuses a secret copied from another account row', async () => {
        const victim = await enrolledAccount();
        const attacker = await enrolledAccount();
        const { totp_secret_sealed: sealed } = (await storedFactor(db, victim.id))!;
        await db('accounts').where({ id: attacker.id }).update({ totp_secret_sealed: sealed });
        await expect(totp.verify(attacker.id, await codeAt(victim.secret))).rejects.toThrow(EnvelopeError);
      });
    });

    describe('replay', () => {
      it('refuses the same code a second time', async () => {
        const { id, secret } = await enrolledAccount();
        const code = await codeAt(secret);
        expect(await totp.verify(id, code)).toBe(true);
        expect(await totp.verify(id, code)).toBe(false);
        expect(await totp.verify(id, ` ${code} `)).toBe(false);
      });

      it('lets exactly one of ten concurrent uses of one code through', async () => {
        const { id, secret } = await enrolledAccount();
        const code = await codeAt(secret);
        const results = await Promise.all(Array.from({ length: 10 }, () => totp.verify(id, code)));
        expect(results.filter(Boolean)).toHaveLength(1);
      });

      it('refuses an older step\'s code once a newer one was accepted', async () => {
        const { id, secret } = await enrolledAccount();
        expect(await totp.verify(id, await codeAt(secret, 1))).toBe(true);
        expect(await totp.verify(id, await codeAt(secret, 0))).toBe(false);
        expect(await totp.verify(id, await codeAt(secret, -1))).toBe(false);
      });

      it('keeps refusing the used step after time has moved on within the window', async () => {
        const { id, secret } = await enrolledAccount();
        const code = await codeAt(secret);
        expect(await totp.verify(id, code)).toBe(true);
        clock = base + STEP_MS; // the code's step is now the previous one, still inside the window
        try {
          expect(await totp.verify(id, code)).toBe(false);
        } finally {
          clock = base;
        }
      });

      it('keeps replay state per account', async () => {
        const first = await enrolledAccount();
        const second = await enrolledAccount();
        expect(await totp.verify(first.id, await codeAt(first.secret, 1))).toBe(true);
        expect(await totp.verify(second.id, await codeAt(second.secret, 0))).toBe(true);
      });
    });

    describe('disable', () => {
      it('clears the secret and the enabled time; the old codes stop working', async () => {
        const { id, secret } = await enrolledAccount();
        expect(await totp.verify(id, await codeAt(secret))).toBe(true);
        await totp.disable(id);
        expect(await storedFactor(db, id)).toEqual({ totp_secret_sealed: null, totp_enabled_at: null });
        expect(await totp.status(id)).toEqual({ enabled: false, enabledAt: null, pending: false });
        expect(await totp.isEnabled(id)).toBe(false);
        expect(await totp.verify(id, await codeAt(secret, 1))).toBe(false);
        expect(await totp.confirmEnrolment(id, await codeAt(secret, 1))).toBe(false);
      });

      it('lets the account enrol again straight away', async () => {
        const { id, secret } = await enrolledAccount();
        expect(await totp.verify(id, await codeAt(secret, 1))).toBe(true);
        await totp.disable(id);
        const again = await totp.beginEnrolment(id, 'again');
        expect(again.secret).not.toBe(secret);
        expect(await totp.confirmEnrolment(id, await codeAt(again.secret))).toBe(true);
        expect(await totp.verify(id, await codeAt(again.secret, 1))).toBe(true);
      });

      it('also drops a pending enrolment', async () => {
        const id = await createAccount(db);
        const { secret } = await totp.beginEnrolment(id, 'pending');
        await totp.disable(id);
        expect(await totp.confirmEnrolment(id, await codeAt(secret))).toBe(false);
        expect(await totp.status(id)).toEqual({ enabled: false, enabledAt: null, pending: false });
      });
    });
  });
}
