import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Accounts } from '../../src/domain/accounts.ts';
import { DomainError, WeakPassword, type WeakPasswordReason } from '../../src/domain/errors.ts';
import { MAX_PASSWORD_LENGTH, PasswordPolicy, type PasswordOwner } from '../../src/domain/password-policy.ts';
import { createPasswordHasher } from '../../src/domain/passwords.ts';
import type { Database } from '../../src/store/db.ts';
import { openPglite, type OpenSql } from '../support/adapter-backends.ts';

const LIST_FILE = new URL('../../src/domain/common-passwords.txt', import.meta.url);
const LIST_SHA256 = '84f9f01da3323b41cdc030f89f7fab65bf76a7e0d5265acabb715c2b3795f148';

const MESSAGES: Record<WeakPasswordReason, string> = {
  too_short: 'Use at least 12 characters.',
  too_long: 'Use at most 1024 characters.',
  common: 'This password is one of the most common passwords and easy to guess; choose another.',
  contains_identity: 'The password must not contain your username or email address.',
};

const policy = new PasswordPolicy({ minLength: 12 });
const lenient = new PasswordPolicy({ minLength: 8 });

/** The WeakPassword `check` throws, or undefined when the password is accepted. */
function refusal(password: string, owner?: PasswordOwner, by = policy): WeakPassword | undefined {
  try {
    by.check(password, owner);
    return undefined;
  } catch (error) {
    if (error instanceof WeakPassword) return error;
    throw error;
  }
}

const reasonFor = (password: string, owner?: PasswordOwner, by = policy) => refusal(password, owner, by)?.reason;

/** `count` code points of an uncommon phrase (no entry of the list is this long and this shape). */
function phrase(count: number): string {
  const source = 'violet harbour engine quartz ';
  return Array.from({ length: count }, (_, i) => source[i % source.length]).join('');
}

describe('PasswordPolicy', () => {
  it('refuses with a reason and a sentence for each rule', () => {
    const cases: Array<[string, PasswordOwner | undefined, WeakPasswordReason]> = [
      ['short one', undefined, 'too_short'],
      [phrase(MAX_PASSWORD_LENGTH + 1), undefined, 'too_long'],
      ['qwertyuiopasdfgh', undefined, 'common'],
      ['my name is margaret', { username: 'margaret' }, 'contains_identity'],
    ];
    for (const [password, owner, reason] of cases) {
      const error = refusal(password, owner);
      expect(error, password.slice(0, 20)).toBeInstanceOf(WeakPassword);
      expect(error).toBeInstanceOf(DomainError);
      expect(error).toMatchObject({ reason, message: MESSAGES[reason], code: 'invalid_request', status: 400, expose: true });
    }
  });

  it('names the configured minimum in its message', () => {
    expect(refusal('seven77', undefined, lenient)?.message).toBe('Use at least 8 characters.');
    expect(refusal(phrase(19), undefined, new PasswordPolicy({ minLength: 20 }))?.message).toBe('Use at least 20 characters.');
  });

  it('accepts a password of exactly the minimum length and refuses one character less', () => {
    expect(reasonFor(phrase(12))).toBeUndefined();
    expect(reasonFor(phrase(11))).toBe('too_short');
    expect(reasonFor(phrase(8), undefined, lenient)).toBeUndefined();
    expect(reasonFor(phrase(7), undefined, lenient)).toBe('too_short');
  });

  it('accepts 128 and 1024 code points and refuses 1025, without truncating', () => {
    expect(reasonFor(phrase(128))).toBeUndefined();
    expect(reasonFor(phrase(1024))).toBeUndefined();
    expect(reasonFor(phrase(1025))).toBe('too_long');
    // a common password followed by enough to pass 1024: refused for length, not accepted by a cut
    expect(reasonFor(`${phrase(1020)}12345`)).toBe('too_long');
    expect(reasonFor('x'.repeat(1_000_000))).toBe('too_long');
  });

  it('counts code points, not UTF-16 units', () => {
    const rocket = '\u{1F680}';
    expect(rocket.repeat(6).length).toBe(12);
    expect(reasonFor(rocket.repeat(6))).toBe('too_short');
    expect(reasonFor(rocket.repeat(12))).toBeUndefined();
    expect(reasonFor(rocket.repeat(1024))).toBeUndefined();
    expect(reasonFor(rocket.repeat(1025))).toBe('too_long');
  });

  it('counts after NFKC: combining sequences count once, ligatures as their letters', () => {
    const decomposed = 'e\u0301';
    // 12 UTF-16 units, 11 characters once composed
    expect(reasonFor(`${phrase(10)}${decomposed}`)).toBe('too_short');
    expect(reasonFor(`${phrase(11)}${decomposed}`)).toBeUndefined();
    // 2048 code points as typed, 1024 composed: accepted
    expect(reasonFor(decomposed.repeat(1024))).toBeUndefined();
    expect(reasonFor(decomposed.repeat(1025))).toBe('too_long');
    // U+FDFA is one code point that NFKC expands to 18
    expect(reasonFor('\uFDFA'.repeat(57))).toBe('too_long');
  });

  it('refuses common passwords whatever their case', () => {
    for (const password of ['qwertyuiopasdfgh', 'QWERTYUIOPASDFGH', 'QwertyUiopAsdfgh', 'passwordpassword', 'PassWordPassWord', 'finalfantasy', '1qaz2wsx3edc4rfv']) {
      expect(reasonFor(password), password).toBe('common');
    }
  });

  it('refuses full-width and ligature forms of common passwords (NFKC)', () => {
    // ｑｗｅｒｔｙｕｉｏｐａｓｄｆｇｈ and Ｆｉｎａｌｆａｎｔａｓｙ in full-width letters
    const fullWidth = (text: string) => [...text].map((c) => String.fromCodePoint(c.codePointAt(0)! + 0xfee0)).join('');
    expect(fullWidth('qwertyuiopasdfgh')).toBe('\uFF51\uFF57\uFF45\uFF52\uFF54\uFF59\uFF55\uFF49\uFF4F\uFF50\uFF41\uFF53\uFF44\uFF46\uFF47\uFF48');
    expect(reasonFor(fullWidth('qwertyuiopasdfgh'))).toBe('common');
    expect(reasonFor(fullWidth('FinalFantasy'))).toBe('common');
    // "ﬁ" (U+FB01) is one code point: 11 as typed, the 12-letter "finalfantasy" after NFKC
    expect(reasonFor('\uFB01nalfantasy')).toBe('common');
    expect(reasonFor('\uFB01NALFANTASY')).toBe('common');
  });

  it('refuses short common passwords when the minimum is lowered to 8', () => {
    for (const password of ['iloveyou', 'password1', 'PASSWORD1', 'ILoveYou', '\uFF49\uFF4C\uFF4F\uFF56\uFF45\uFF59\uFF4F\uFF55']) {
      expect(reasonFor(password, undefined, lenient), password).toBe('common');
    }
    expect(reasonFor('iloveyou')).toBe('too_short');
  });

  it('refuses every entry of the list, and the list is the documented file', () => {
    const text = readFileSync(LIST_FILE, 'utf8');
    expect(createHash('sha256').update(text).digest('hex')).toBe(LIST_SHA256);
    const entries = text.split('\n');
    expect(entries.pop()).toBe('');
    expect(entries).toHaveLength(100_000);
    const anyLength = new PasswordPolicy({ minLength: 1 });
    const accepted = entries.filter((entry) => reasonFor(entry, undefined, anyLength) !== 'common');
    expect(accepted).toEqual([]);
    // the one non-ASCII entry, "aª»", also in its NFKC form
    expect(reasonFor('AA\u00BB', undefined, anyLength)).toBe('common');
  });

  it('refuses a password containing the username, the email or its local part, in any case', () => {
    const owner = { username: 'Margaret', email: 'm.smith@Example.org' };
    for (const password of ['my MARGARET password', 'margaret', 'margaret1986!', 'write to M.Smith@example.ORG', 'xxM.SMITHxx long enough']) {
      expect(reasonFor(password, owner, lenient), password).toBe('contains_identity');
    }
    expect(reasonFor('margaret-of-anjou', { username: 'margaret' })).toBe('contains_identity');
    expect(reasonFor('send it to m.smith@example.org', { email: 'm.smith@example.org' })).toBe('contains_identity');
    expect(reasonFor('hello m.smith, here', { email: 'm.smith@example.org' })).toBe('contains_identity');
  });

  it('compares identifiers after NFKC, composed or decomposed, full-width or not', () => {
    const composed = 'jos\u00E9';
    const decomposed = 'jose\u0301';
    expect(reasonFor(`${decomposed} at the seaside`, { username: composed })).toBe('contains_identity');
    expect(reasonFor(`${composed.toUpperCase()} at the seaside`, { username: decomposed })).toBe('contains_identity');
    expect(reasonFor('\uFF4A\uFF4F\uFF53\uFF45 and the sea', { username: 'jose' })).toBe('contains_identity');
    // plain "jose" is not "josé"
    expect(reasonFor('jose at the seaside', { username: composed })).toBeUndefined();
  });

  it('ignores identifiers under 3 characters, so short usernames do not forbid ordinary words', () => {
    expect(reasonFor('always alert and calm', { username: 'al' })).toBeUndefined();
    expect(reasonFor('always alert and calm', { username: 'Al', email: 'al@example.org' })).toBeUndefined();
    expect(reasonFor('always alert and calm', { username: 'ale' })).toBe('contains_identity');
    // the local part is short, the whole address is not
    expect(reasonFor('mail al@example.org now', { email: 'al@example.org' })).toBe('contains_identity');
  });

  it('accepts passphrases, with or without identifiers known', () => {
    const owner = { username: 'margaret', email: 'm.smith@example.org' };
    for (const password of ['correct horse battery staple', 'Tr0ub4dor&3 was never it', 'Grüße aus Köln, 2024!', '我的密码很长很长很长很长', phrase(40)]) {
      expect(reasonFor(password), password).toBeUndefined();
      expect(reasonFor(password, owner), password).toBeUndefined();
      expect(reasonFor(password, { username: null, email: null }), password).toBeUndefined();
    }
  });

  it('refuses a minimum length outside 1..1024', () => {
    for (const minLength of [0, -1, 1025, 12.5, Number.NaN]) expect(() => new PasswordPolicy({ minLength })).toThrow(RangeError);
  });
});

describe('Accounts enforce the password policy', () => {
  let sql: OpenSql;
  let db: Database;
  let accounts: Accounts;

  beforeAll(async () => {
    sql = await openPglite();
    db = sql.db;
    const hasher = await createPasswordHasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 });
    accounts = new Accounts(db, hasher, undefined, new PasswordPolicy({ minLength: 12 }));
  });
  afterAll(() => sql?.close());

  const accountRows = async () => (await db('accounts').select('id')).length;
  const hashOf = async (id: string) => (await db('accounts').where({ id }).first('password_hash'))?.password_hash as string | null;

  it('create refuses a weak password and stores nothing', async () => {
    const before = await accountRows();
    const cases: Array<[string, WeakPasswordReason]> = [
      ['eleven char', 'too_short'],
      ['qwertyuiopasdfgh', 'common'],
      ['QwErTyUiOpAsDfGh', 'common'],
      ['Hello WALTER.WHITE here', 'contains_identity'],
      ['walter.white@example.com!!', 'contains_identity'],
      ['heisenberg rides', 'contains_identity'],
      [phrase(1025), 'too_long'],
    ];
    for (const [password, reason] of cases) {
      await expect(accounts.create({ username: 'Heisenberg', email: 'walter.white@example.com' }, password)).rejects.toMatchObject({ reason, message: MESSAGES[reason] });
    }
    expect(await accountRows()).toEqual(before);
    expect(await accounts.findByLogin('heisenberg')).toBeUndefined();
  });

  it('create checks the username as stored (NFKC, trimmed)', async () => {
    await expect(accounts.create({ username: ' \uFF4E\uFF49\uFF4E\uFF41 ' }, 'Nina goes sailing')).rejects.toMatchObject({ reason: 'contains_identity' });
    expect(await accounts.findByLogin('nina')).toBeUndefined();
  });

  it('create accepts a passphrase, and an account without a password', async () => {
    const created = await accounts.create({ username: 'jesse', email: 'jesse@example.com' }, 'correct horse battery staple');
    expect(created.hasPassword).toBe(true);
    expect(await accounts.authenticate('jesse', 'correct horse battery staple')).toMatchObject({ id: created.id });
    expect((await accounts.create({ username: 'skyler' })).hasPassword).toBe(false);
  });

  it('hashes the form the policy judged: a full-width passphrase signs in with its ASCII letters', async () => {
    const fullWidth = '\uFF53\uFF45\uFF41\uFF53\uFF48\uFF45\uFF4C\uFF4C\uFF53 \uFF41\uFF4E\uFF44 \uFF53\uFF41\uFF4E\uFF44';
    expect(fullWidth.normalize('NFKC')).toBe('seashells and sand');
    await accounts.create({ username: 'marie' }, fullWidth);
    expect(await accounts.authenticate('marie', 'seashells and sand')).toBeDefined();
  });

  it('setPassword refuses a weak password and leaves the hash as it was', async () => {
    const account = await accounts.create({ username: 'hank', email: 'hank.schrader@example.com' }, 'minerals are not rocks');
    const hash = await hashOf(account.id);
    expect(hash).toMatch(/^\$argon2id\$/);
    const cases: Array<[string, WeakPasswordReason]> = [
      ['too short', 'too_short'],
      ['PASSWORDPASSWORD', 'common'],
      ['I am HANK, hear me', 'contains_identity'],
      ['ask Hank.Schrader anything', 'contains_identity'],
      [phrase(1025), 'too_long'],
    ];
    for (const [password, reason] of cases) {
      await expect(accounts.setPassword(account.id, password)).rejects.toMatchObject({ reason, message: MESSAGES[reason] });
    }
    expect(await hashOf(account.id)).toBe(hash);
    expect(await accounts.authenticate('hank', 'minerals are not rocks')).toBeDefined();
    await accounts.setPassword(account.id, 'a new and better passphrase');
    expect(await hashOf(account.id)).not.toBe(hash);
    expect(await accounts.authenticate('hank', 'a new and better passphrase')).toBeDefined();
  });

  it('setPassword on an unknown account is NotFound, whatever the password', async () => {
    await expect(accounts.setPassword('00000000-0000-0000-0000-000000000000', 'short')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('uses the policy it was given, and at least 12 characters when given none', async () => {
    const hasher = await createPasswordHasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 });
    const strict = new Accounts(db, hasher, undefined, new PasswordPolicy({ minLength: 20 }));
    await expect(strict.create({ username: 'gustavo' }, phrase(19))).rejects.toMatchObject({ reason: 'too_short', message: 'Use at least 20 characters.' });
    const defaults = new Accounts(db, hasher);
    await expect(defaults.create({ username: 'gustavo' }, phrase(11))).rejects.toMatchObject({ reason: 'too_short', message: 'Use at least 12 characters.' });
    expect(await accounts.findByLogin('gustavo')).toBeUndefined();
  });
});
