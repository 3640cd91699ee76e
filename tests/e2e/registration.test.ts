import { createHash, randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
const USERNAME_TAKEN = 'This username is taken: choose another. If the account is yours, sign in or reset your password.';
import { availableBackends } from '../support/backends.ts';
import { extractLink, readOutbox, waitForMail } from '../support/outbox.ts';
import { signInAndExchange, startAuthorization, useSeededServer, type SeededServer } from '../support/relying-party.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { formAction, hiddenField, UserAgent, type Page } from '../support/user-agent.ts';
import { logLines } from '../support/log-capture.ts';

const VERIFY_SUBJECT = /Confirm your email address/;
const NO_LIMITS = { POSTERN_RATE_LIMIT_REGISTRATION: 'off', POSTERN_RATE_LIMIT_LOGIN: 'off' };

function outboxDir(): string {
  return join(tmpdir(), `postern-outbox-${randomBytes(6).toString('hex')}`);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

interface Applicant {
  username: string;
  email: string;
  name: string;
  password: string;
  confirm: string;
}

function applicant(prefix: string, overrides: Partial<Applicant> = {}): Applicant {
  const username = `${prefix}-${randomBytes(3).toString('hex')}`;
  const password = 'a sensible long passphrase';
  return { username, email: `${username}@example.test`, name: 'New Person', password, confirm: password, ...overrides };
}

/** Opens the form in `agent` (a new browser by default) and submits it. */
async function register(server: TestServer, fields: Applicant, agent = new UserAgent(server.issuer)): Promise<Page> {
  const form = await agent.get(`${server.issuer}/register`);
  expect(form.status).toBe(200);
  return agent.post(formAction(form.html), { csrf: hiddenField(form.html, 'csrf'), ...fields });
}

async function verificationLink(outbox: string, to: string, since: Date): Promise<string> {
  const mail = await waitForMail(outbox, { to, subject: VERIFY_SUBJECT, since });
  return extractLink(mail, '/register/verify');
}

async function accountCount(server: TestServer): Promise<number> {
  const [row] = await server.storage.db('accounts').count<Array<{ count: string | number }>>({ count: '*' });
  return Number(row!.count);
}

describe.each(availableBackends())('registration off on %s', (backend) => {
  const t = useSeededServer(backend);

  it('has no pages: /register and its verification link are 404, and the sign-in page does not offer it', async () => {
    const agent = new UserAgent(t.server.issuer);
    expect((await agent.get(`${t.server.issuer}/register`)).status).toBe(404);
    expect((await agent.post('/register', applicant('off') as unknown as Record<string, string>)).status).toBe(404);
    expect((await agent.get(`${t.server.issuer}/register/verify?token=${randomBytes(32).toString('base64url')}`)).status).toBe(404);
    const login = await agent.get((await startAuthorization(t.config)).url.toString());
    expect(login.html).toContain('name="password"');
    expect(login.html).not.toMatch(/href="\/register[?"]/);
  });
});

describe.each(availableBackends())('registration on %s', (backend) => {
  const outbox = outboxDir();
  const t: SeededServer = useSeededServer(backend, { POSTERN_REGISTRATION: 'true', POSTERN_MAIL_OUTBOX: outbox, ...NO_LIMITS });
  afterAll(() => rm(outbox, { recursive: true, force: true }));

  it('creates an unconfirmed account, mails a link that confirms the address once, and the claim follows', async () => {
    const login = await new UserAgent(t.server.issuer).get((await startAuthorization(t.config)).url.toString());
    expect(login.html).toMatch(/href="\/register\?return=[\w-]+"/);

    const person = applicant('newcomer');
    const since = new Date();
    const page = await register(t.server, person);
    expect(page.status).toBe(200);
    expect(page.html).toContain('Check your email');
    expect(page.html).toContain(person.email);
    const account = (await t.server.services.accounts.findByLogin(person.username))!;
    expect(account).toMatchObject({ username: person.username, email: person.email, name: 'New Person', emailVerified: false });
    expect(await t.server.services.accounts.checkPassword(account.id, person.password)).toBe(true);

    // the new account signs in straight away; the address is not confirmed yet
    const fixture = { ...t.fixture, username: person.username, password: person.password, accountId: account.id };
    const { tokens } = await signInAndExchange(t.server, t.config, fixture);
    expect(await oidc.fetchUserInfo(t.config, tokens.access_token, account.id)).toMatchObject({ email: person.email, email_verified: false });

    const link = await verificationLink(outbox, person.email, since);
    expect(link.startsWith(`${t.server.issuer}/register/verify?token=`)).toBe(true);
    const token = new URL(link).searchParams.get('token')!;
    const [row] = await t.server.storage.db('account_tokens').where({ account_id: account.id }).select('token_hash', 'purpose', 'created_at', 'expires_at');
    expect(row).toMatchObject({ token_hash: sha256(token), purpose: 'email_verification' });
    expect((new Date(row.expires_at).getTime() - new Date(row.created_at).getTime()) / 1000).toBeCloseTo(86400, 0);

    const agent = new UserAgent(t.server.issuer);
    const confirmed = await agent.get(link);
    expect(confirmed.status).toBe(200);
    expect(confirmed.html).toContain('Email address confirmed');
    expect((await t.server.services.accounts.findById(account.id))?.emailVerified).toBe(true);
    // the same access token now reads the confirmed address: no instance serves the cached account
    expect(await oidc.fetchUserInfo(t.config, tokens.access_token, account.id)).toMatchObject({ email: person.email, email_verified: true });

    const reused = await agent.get(link);
    expect(reused.status).toBe(410);
    expect(reused.html).toContain('This link cannot be used');

    const audit = await t.server.storage.db('audit_events').where({ account_id: account.id }).select('type', 'details');
    expect(audit.map((event) => event.type)).toEqual(expect.arrayContaining(['account.registered', 'email.verified']));
    expect(JSON.stringify(audit)).not.toContain(token);
  });

  it('says that a username is taken, and creates nothing', async () => {
    const first = applicant('taken');
    expect((await register(t.server, first)).status).toBe(200);
    const before = await accountCount(t.server);

    const page = await register(t.server, applicant('other', { username: first.username.toUpperCase() }));
    expect(page.status).toBe(400);
    expect(page.html).toContain(USERNAME_TAKEN);
    expect(page.html).not.toContain('Check your email');
    expect(await accountCount(t.server)).toBe(before);
  });

  it('answers an email address that has an account exactly as a new one, creates nothing, and mails its owner instead', async () => {
    const owner = applicant('owner');
    expect((await register(t.server, owner)).status).toBe(200);
    const ownerAccount = (await t.server.services.accounts.findByLogin(owner.username))!;
    const before = await accountCount(t.server);

    const since = new Date();
    // someone else's address, as typed by someone else (other case), with their own username and password
    const intruder = applicant('intruder', { email: owner.email.toUpperCase(), password: 'the intruder passphrase', confirm: 'the intruder passphrase' });
    const taken = await register(t.server, intruder);
    const newcomer = applicant('newcomer');
    const fresh = await register(t.server, newcomer);

    // the same status and the same page: only the address typed differs
    expect(taken.status).toBe(200);
    expect(fresh.status).toBe(200);
    expect(taken.html).toContain('Check your email');
    expect(taken.html.replace(intruder.email, 'ADDRESS')).toBe(fresh.html.replace(newcomer.email, 'ADDRESS'));

    // no account for the intruder: only the newcomer's was made, and the owner's is as it was
    expect(await accountCount(t.server)).toBe(before + 1);
    expect(await t.server.services.accounts.findByLogin(intruder.username)).toBeUndefined();
    expect(await t.server.services.accounts.findByLogin(owner.email)).toMatchObject({ id: ownerAccount.id, username: owner.username });
    expect(await t.server.services.accounts.checkPassword(ownerAccount.id, owner.password)).toBe(true);
    expect(await t.server.services.accounts.checkPassword(ownerAccount.id, intruder.password)).toBe(false);

    // the owner hears of it, with the way back into the account and no link that confirms anything
    const warning = await waitForMail(outbox, { to: owner.email, subject: /Someone tried to register with your email address/, since });
    expect(warning.text).toContain(`"${owner.username}"`);
    expect(extractLink(warning, '/reset')).toBe(`${t.server.issuer}/reset`);
    expect(extractLink(warning, '/account')).toBe(`${t.server.issuer}/account`);
    expect(warning.text).not.toContain('/register/verify');
    const sinceThen = (await readOutbox(outbox)).filter((mail) => Date.parse(mail.sentAt) >= since.getTime());
    expect(sinceThen.filter((mail) => mail.to.toLowerCase() === owner.email.toLowerCase()).map((mail) => mail.subject)).toEqual([warning.subject]);
    const audit = await t.server.storage.db('audit_events').where({ account_id: ownerAccount.id, type: 'registration.email_taken' }).select('ip');
    expect(audit).toHaveLength(1);
  });

  it('refuses weak passwords, mistyped confirmations and malformed fields with their message, and creates nothing', async () => {
    const before = await accountCount(t.server);
    const cases: Array<[string, Partial<Applicant>, string]> = [
      ['too short', { password: 'short', confirm: 'short' }, 'Use at least 12 characters.'],
      ['common', { password: '1qaz2wsx3edc', confirm: '1qaz2wsx3edc' }, 'one of the most common passwords'],
      ['mismatch', { confirm: 'not the same passphrase' }, 'The two passwords are not the same'],
      ['bad username', { username: 'has spaces in it' }, 'Username must be 1-64 letters'],
      ['not an address', { email: 'not-an-address' }, 'Enter one email address, like name@example.com.'],
      ['no domain', { email: 'someone@localhost' }, 'Email is not a valid address.'],
      ['no email', { email: '' }, 'Enter your email address'],
      ['two addresses', { email: 'one@example.test,two@example.test' }, 'Enter one email address'],
    ];
    for (const [label, overrides, message] of cases) {
      const person = applicant('weak', overrides);
      const page = await register(t.server, person);
      expect({ label, status: page.status }).toEqual({ label, status: 400 });
      expect(page.html).toContain(message);
      // what was typed comes back, except the passwords
      expect(page.html).toContain(`value="${person.username}"`);
      expect(page.html).not.toContain(person.password);
    }
    const identity = applicant('identity');
    const page = await register(t.server, { ...identity, password: `${identity.username} is me`, confirm: `${identity.username} is me` });
    expect(page.status).toBe(400);
    expect(page.html).toContain('must not contain your username or email address');
    expect(await accountCount(t.server)).toBe(before);
  });

  it('refuses a form post without the CSRF token and creates nothing', async () => {
    const before = await accountCount(t.server);
    const agent = new UserAgent(t.server.issuer);
    await agent.get(`${t.server.issuer}/register`);
    const person = applicant('forged');
    const page = await agent.post('/register', { ...person });
    expect(page.status).toBe(403);
    expect(await accountCount(t.server)).toBe(before);
    expect(await t.server.services.accounts.findByLogin(person.username)).toBeUndefined();
  });

  it('refuses an expired or unknown verification link and leaves the address unconfirmed', async () => {
    const person = applicant('late');
    const since = new Date();
    expect((await register(t.server, person)).status).toBe(200);
    const link = await verificationLink(outbox, person.email, since);
    const token = new URL(link).searchParams.get('token')!;
    await t.server.storage.db('account_tokens').where({ token_hash: sha256(token) }).update({ expires_at: t.server.storage.db.raw("now() - interval '1 second'") });
    const agent = new UserAgent(t.server.issuer);
    expect((await agent.get(link)).status).toBe(410);
    expect((await agent.get(`${t.server.issuer}/register/verify?token=${randomBytes(32).toString('base64url')}`)).status).toBe(410);
    expect((await agent.get(`${t.server.issuer}/register/verify`)).status).toBe(410);
    expect((await t.server.services.accounts.findByLogin(person.username))?.emailVerified).toBe(false);
  });

  it('does not take a password reset token as a verification token, nor the other way round', async () => {
    const person = applicant('crossed');
    const since = new Date();
    expect((await register(t.server, person)).status).toBe(200);
    const verify = await verificationLink(outbox, person.email, since);
    const token = new URL(verify).searchParams.get('token')!;
    const agent = new UserAgent(t.server.issuer);
    expect((await agent.get(`${t.server.issuer}/reset/complete?token=${token}`)).status).toBe(410);

    const resetSince = new Date();
    const form = await agent.get(`${t.server.issuer}/reset`);
    await agent.post(formAction(form.html), { csrf: hiddenField(form.html, 'csrf'), login: person.username });
    const resetMail = await waitForMail(outbox, { to: person.email, subject: /Reset your password/, since: resetSince });
    const resetToken = new URL(extractLink(resetMail, '/reset/complete')).searchParams.get('token')!;
    expect((await agent.get(`${t.server.issuer}/register/verify?token=${resetToken}`)).status).toBe(410);
    expect((await t.server.services.accounts.findByLogin(person.username))?.emailVerified).toBe(false);

    // both still work for what they were made for
    expect((await agent.get(`${t.server.issuer}/reset/complete?token=${resetToken}`)).status).toBe(200);
    expect((await agent.get(verify)).status).toBe(200);
  });
});

describe('registration logs', () => {
  const outbox = outboxDir();
  const { lines, sink } = logLines();
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer('embedded', { POSTERN_REGISTRATION: 'true', POSTERN_MAIL_OUTBOX: outbox, ...NO_LIMITS }, createLogger('trace', sink));
  });
  afterAll(async () => {
    await server?.close();
    await rm(outbox, { recursive: true, force: true });
  });

  it('never contain the verification token or the password, even at trace level', async () => {
    const person = applicant('logged');
    const since = new Date();
    expect((await register(server, person)).status).toBe(200);
    const link = await verificationLink(outbox, person.email, since);
    const agent = new UserAgent(server.issuer);
    expect((await agent.get(link)).status).toBe(200);
    expect((await agent.get(link)).status).toBe(410);
    const token = new URL(link).searchParams.get('token')!;
    const log = lines.join('');
    expect(log).toContain('"path":"/register/verify"');
    for (const secret of [token, sha256(token), person.password]) {
      expect(log).not.toContain(secret);
    }
  });
});
