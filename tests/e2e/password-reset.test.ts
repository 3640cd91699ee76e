import { createHash, randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { availableBackends } from '../support/backends.ts';
import { extractLink, readOutbox, waitForMail } from '../support/outbox.ts';
import { signIn, signInAndExchange, startAuthorization, useSeededServer, type Fixture, type SeededServer } from '../support/relying-party.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { formAction, hiddenField, UserAgent, type Page } from '../support/user-agent.ts';
import { logLines } from '../support/log-capture.ts';

const SENT = 'If an account matches, we have sent a link to its email address.';
const CHANGED = 'Your password has been changed';
const CANNOT_USE = 'This link cannot be used';
const RESET_SUBJECT = /Reset your password/;
const NO_LIMITS = { POSTERN_RATE_LIMIT_PASSWORD_RESET: 'off', POSTERN_RATE_LIMIT_LOGIN: 'off' };

function outboxDir(): string {
  return join(tmpdir(), `postern-outbox-${randomBytes(6).toString('hex')}`);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

interface Answer {
  status: number;
  body: string;
  /** every header but the ones that differ between any two responses (date, request id) */
  headers: Array<[string, string]>;
  ms: number;
}

/** Opens the request form in a new browser and asks for a link for `login`. */
async function requestReset(server: TestServer, login: string): Promise<Answer> {
  const agent = new UserAgent(server.issuer);
  const form = await agent.get(`${server.issuer}/reset`);
  expect(form.status).toBe(200);
  const started = performance.now();
  const response = await agent.request(`${server.issuer}/reset`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf: hiddenField(form.html, 'csrf'), login }).toString(),
  });
  const body = await response.text();
  const ms = performance.now() - started;
  const headers = [...response.headers].filter(([name]) => name !== 'date' && name !== 'x-request-id');
  return { status: response.status, body, headers, ms };
}

async function resetLink(outbox: string, to: string, since: Date): Promise<string> {
  const mail = await waitForMail(outbox, { to, subject: RESET_SUBJECT, since });
  return extractLink(mail, '/reset/complete');
}

function tokenOf(link: string): string {
  return new URL(link).searchParams.get('token')!;
}

function submitPassword(agent: UserAgent, page: Page, password: string, confirm = password): Promise<Page> {
  return agent.post(formAction(page.html), { csrf: hiddenField(page.html, 'csrf'), token: hiddenField(page.html, 'token'), password, confirm });
}

async function newAccount(server: TestServer, prefix: string, password: string, email = true) {
  const username = `${prefix}-${randomBytes(3).toString('hex')}`;
  const account = await server.services.accounts.create({ username, email: email ? `${username}@example.test` : undefined, emailVerified: true }, password);
  return { account, username, email: `${username}@example.test`, password };
}

/** Whether `password` gets through the login form (to the consent page or the callback). */
async function passwordSignsIn(t: SeededServer, username: string, password: string): Promise<boolean> {
  const agent = new UserAgent(t.server.issuer);
  const start = await startAuthorization(t.config);
  const page = await agent.get(start.url.toString());
  const answer = await agent.post(formAction(page.html), { csrf: hiddenField(page.html, 'csrf'), login: username, password });
  return answer.status !== 401;
}

describe.each(availableBackends())('password reset on %s', (backend) => {
  const outbox = outboxDir();
  const t = useSeededServer(backend, { POSTERN_MAIL_OUTBOX: outbox, ...NO_LIMITS });
  afterAll(() => rm(outbox, { recursive: true, force: true }));

  it('gives one answer whether or not the account exists, and mails only an enabled account with an address', async () => {
    const since = new Date();
    const user = await newAccount(t.server, 'exists', 'the owner knows this passphrase');
    const mailless = await newAccount(t.server, 'mailless', 'no address on this account', false);
    const disabled = await newAccount(t.server, 'disabled', 'this account is switched off');
    await t.server.storage.db('accounts').where({ id: disabled.account.id }).update({ disabled: true });

    const logins = [user.username, user.email.toUpperCase(), `missing-${backend}`, `missing-${backend}@example.test`, mailless.username, disabled.username, disabled.email, ''];
    const answers: Answer[] = [];
    for (const login of logins) answers.push(await requestReset(t.server, login));
    const [first] = answers;
    expect(first!.status).toBe(200);
    expect(first!.body).toContain(SENT);
    expect(first!.body).not.toContain(user.username);
    for (const [index, answer] of answers.entries()) {
      expect({ login: logins[index], status: answer.status, headers: answer.headers }).toEqual({ login: logins[index], status: first!.status, headers: first!.headers });
      expect(answer.body).toBe(first!.body);
    }

    // both requests for the existing account were mailed; give the others as long again to show up
    await waitForMail(outbox, { to: user.email, subject: RESET_SUBJECT, since });
    await sleep(300);
    const sent = (await readOutbox(outbox)).filter((mail) => Date.parse(mail.sentAt) >= since.getTime());
    expect(sent.map((mail) => mail.to)).toEqual([user.email, user.email]);
    const events = await t.server.storage.db('audit_events').where({ type: 'password.reset_requested' }).select('account_id');
    expect(events.map((event) => event.account_id)).not.toContain(disabled.account.id);
    expect(events.map((event) => event.account_id)).not.toContain(mailless.account.id);
  });

  it('changes the password once, ends every session and refresh token, and lets only the new password in', async () => {
    const user = await newAccount(t.server, 'reset', 'the old passphrase of this user');
    const fixture: Fixture = { ...t.fixture, username: user.username, password: user.password, accountId: user.account.id };
    const { tokens, agent: browser } = await signInAndExchange(t.server, t.config, fixture);
    expect(tokens.refresh_token).toBeDefined();

    const since = new Date();
    await requestReset(t.server, user.email);
    const link = await resetLink(outbox, user.email, since);
    expect(link.startsWith(`${t.server.issuer}/reset/complete?token=`)).toBe(true);
    const token = tokenOf(link);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    // only the hash is stored
    const rows = await t.server.storage.db('account_tokens').where({ account_id: user.account.id }).select('token_hash', 'purpose', 'expires_at', 'created_at');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ token_hash: sha256(token), purpose: 'password_reset' });
    const ttl = (new Date(rows[0].expires_at).getTime() - new Date(rows[0].created_at).getTime()) / 1000;
    expect(ttl).toBeCloseTo(1800, 0);

    const agent = new UserAgent(t.server.issuer);
    const form = await agent.get(link);
    expect(form.status).toBe(200);
    expect(form.html).toContain(user.username);
    expect(hiddenField(form.html, 'token')).toBe(token);

    const done = await submitPassword(agent, form, 'a completely new passphrase');
    expect(done.status).toBe(200);
    expect(done.html).toContain(CHANGED);

    // the link is spent
    const again = await submitPassword(agent, form, 'yet another new passphrase');
    expect(again.status).toBe(410);
    expect(again.html).toContain(CANNOT_USE);
    expect(again.html).toContain('href="/reset"');
    expect((await agent.get(link)).status).toBe(410);

    // the refresh token from before is dead, and so is the browser session
    await expect(oidc.refreshTokenGrant(t.config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    const next = await startAuthorization(t.config);
    const page = await browser.get(next.url.toString());
    expect(page.html).toContain('name="password"');

    expect(await passwordSignsIn(t, user.username, user.password)).toBe(false);
    expect(await passwordSignsIn(t, user.username, 'yet another new passphrase')).toBe(false);
    await signIn(new UserAgent(t.server.issuer), (await startAuthorization(t.config)).url, { username: user.username, password: 'a completely new passphrase' });

    const audit = await t.server.storage.db('audit_events').where({ account_id: user.account.id }).select('type', 'details', 'ip', 'user_agent');
    expect(audit.map((event) => event.type)).toEqual(expect.arrayContaining(['password.reset_requested', 'password.reset']));
    expect(JSON.stringify(audit)).not.toContain(token);
  });

  it('shows each refusal of the new password on the form and keeps the link usable', async () => {
    const user = await newAccount(t.server, 'policy', 'the old passphrase of this user');
    const since = new Date();
    await requestReset(t.server, user.username);
    const link = await resetLink(outbox, user.email, since);
    const agent = new UserAgent(t.server.issuer);
    let page = await agent.get(link);

    const refusals: Array<[string, string, string]> = [
      ['short', 'short', 'Use at least 12 characters.'],
      ['common', '1qaz2wsx3edc', 'one of the most common passwords'],
      ['identity', `${user.username} forever and ever`, 'must not contain your username or email address'],
      ['mismatch', 'a good long passphrase', 'The two passwords are not the same'],
    ];
    for (const [reason, password, message] of refusals) {
      page = await submitPassword(agent, page, password, reason === 'mismatch' ? 'something different entirely' : password);
      expect({ reason, status: page.status }).toEqual({ reason, status: 400 });
      expect(page.html).toContain(message);
      expect(hiddenField(page.html, 'token')).toBe(tokenOf(link));
    }
    expect(await t.server.services.accounts.checkPassword(user.account.id, user.password)).toBe(true);

    // a form post without the CSRF token changes nothing
    const forged = await agent.post('/reset/complete', { token: tokenOf(link), password: 'a forged new passphrase', confirm: 'a forged new passphrase' });
    expect(forged.status).toBe(403);
    expect(await t.server.services.accounts.checkPassword(user.account.id, user.password)).toBe(true);
    // nor one from another browser, whose CSRF cookie does not match
    const other = new UserAgent(t.server.issuer);
    await other.get(`${t.server.issuer}/reset`);
    const crossSite = await other.post('/reset/complete', { csrf: hiddenField(page.html, 'csrf'), token: tokenOf(link), password: 'a forged new passphrase', confirm: 'a forged new passphrase' });
    expect(crossSite.status).toBe(403);

    const done = await submitPassword(agent, page, 'finally a good passphrase');
    expect(done.status).toBe(200);
    expect(await t.server.services.accounts.checkPassword(user.account.id, 'finally a good passphrase')).toBe(true);
  });

  it('refuses an expired link, on the form and on submission', async () => {
    const user = await newAccount(t.server, 'expired', 'the old passphrase of this user');
    const since = new Date();
    await requestReset(t.server, user.username);
    const link = await resetLink(outbox, user.email, since);
    const agent = new UserAgent(t.server.issuer);
    const form = await agent.get(link);
    expect(form.status).toBe(200);

    await t.server.storage.db('account_tokens').where({ token_hash: sha256(tokenOf(link)) }).update({ expires_at: t.server.storage.db.raw("now() - interval '1 second'") });
    const shown = await agent.get(link);
    expect(shown.status).toBe(410);
    expect(shown.html).toContain(CANNOT_USE);
    const submitted = await submitPassword(agent, form, 'a completely new passphrase');
    expect(submitted.status).toBe(410);
    expect(await t.server.services.accounts.checkPassword(user.account.id, user.password)).toBe(true);
  });

  it('refuses unknown, malformed and repeated tokens, and a link of an account disabled since', async () => {
    const agent = new UserAgent(t.server.issuer);
    for (const query of ['', '?token=', `?token=${randomBytes(32).toString('base64url')}`, '?token=not-a-token', '?token=a&token=b']) {
      expect({ query, status: (await agent.get(`${t.server.issuer}/reset/complete${query}`)).status }).toEqual({ query, status: 410 });
    }
    const user = await newAccount(t.server, 'disabled-later', 'the old passphrase of this user');
    const since = new Date();
    await requestReset(t.server, user.username);
    const link = await resetLink(outbox, user.email, since);
    const form = await agent.get(link);
    await t.server.storage.db('accounts').where({ id: user.account.id }).update({ disabled: true });
    expect((await agent.get(link)).status).toBe(410);
    expect((await submitPassword(agent, form, 'a completely new passphrase')).status).toBe(410);
  });

  it('of one link submitted several times at once, exactly one changes the password', async () => {
    const user = await newAccount(t.server, 'race', 'the old passphrase of this user');
    const since = new Date();
    await requestReset(t.server, user.username);
    const link = await resetLink(outbox, user.email, since);
    const agent = new UserAgent(t.server.issuer);
    const form = await agent.get(link);
    const passwords = ['first racing passphrase', 'second racing passphrase', 'third racing passphrase', 'fourth racing passphrase'];
    const pages = await Promise.all(passwords.map((password) => submitPassword(agent, form, password)));
    expect(pages.map((page) => page.status).sort()).toEqual([200, 410, 410, 410]);
    const winner = passwords[pages.findIndex((page) => page.status === 200)]!;
    for (const password of passwords) {
      expect(await t.server.services.accounts.checkPassword(user.account.id, password)).toBe(password === winner);
    }
    const resets = await t.server.storage.db('audit_events').where({ account_id: user.account.id, type: 'password.reset' });
    expect(resets).toHaveLength(1);
  });

  it('keeps an earlier link valid when another is asked for, and ends all of them with the first reset', async () => {
    const user = await newAccount(t.server, 'two-links', 'the old passphrase of this user');
    const firstSince = new Date();
    await requestReset(t.server, user.username);
    const firstLink = await resetLink(outbox, user.email, firstSince);
    await sleep(5);
    const secondSince = new Date();
    await requestReset(t.server, user.email);
    const secondLink = await resetLink(outbox, user.email, secondSince);
    expect(secondLink).not.toBe(firstLink);

    const agent = new UserAgent(t.server.issuer);
    expect((await agent.get(firstLink)).status).toBe(200);
    const second = await agent.get(secondLink);
    expect(second.status).toBe(200);
    expect((await submitPassword(agent, second, 'a completely new passphrase')).status).toBe(200);
    expect((await agent.get(firstLink)).status).toBe(410);
  });
});

describe('password reset with a mail server that never answers', () => {
  const outbox = outboxDir();
  const sockets = new Set<Socket>();
  let smtp: Server;
  let server: TestServer;

  beforeAll(async () => {
    // accepts connections and says nothing: a sender waiting for its greeting hangs
    smtp = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const port = (smtp.address() as { port: number }).port;
    server = await startTestServer('embedded', { POSTERN_MAIL_OUTBOX: outbox, POSTERN_SMTP_URL: `smtp://127.0.0.1:${port}`, ...NO_LIMITS });
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => smtp?.close(resolve));
    await server?.close();
    await rm(outbox, { recursive: true, force: true });
  });

  it('answers an existing account without waiting for the mail to go out', async () => {
    const user = await newAccount(server, 'slow-mail', 'the old passphrase of this user');
    const since = new Date();
    const existing = await requestReset(server, user.username);
    const missing = await requestReset(server, `nobody-${randomBytes(3).toString('hex')}`);
    // the mail is in the outbox (written before SMTP is tried) while SMTP still waits for a greeting
    expect(existing.ms).toBeLessThan(2000);
    await waitForMail(outbox, { to: user.email, subject: RESET_SUBJECT, since });
    expect(sockets.size).toBeGreaterThan(0);
    expect(existing.status).toBe(missing.status);
    expect(existing.body).toBe(missing.body);
  });
});

describe('password reset logs', () => {
  const outbox = outboxDir();
  const { lines, sink } = logLines();
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer('embedded', { POSTERN_MAIL_OUTBOX: outbox, ...NO_LIMITS }, createLogger('trace', sink));
  });
  afterAll(async () => {
    await server?.close();
    await rm(outbox, { recursive: true, force: true });
  });

  it('never contain the reset token or the new password, even at trace level', async () => {
    const username = `logged-${randomBytes(3).toString('hex')}`;
    await server.services.accounts.create({ username, email: `${username}@example.test` }, 'the old passphrase of this user');
    const since = new Date();
    await requestReset(server, username);
    const link = await resetLink(outbox, `${username}@example.test`, since);
    const agent = new UserAgent(server.issuer);
    const form = await agent.get(link);
    const refused = await submitPassword(agent, form, 'short');
    expect(refused.status).toBe(400);
    expect((await submitPassword(agent, refused, 'the logged new passphrase')).status).toBe(200);
    expect((await agent.get(link)).status).toBe(410);

    const log = lines.join('');
    expect(log).toContain('"path":"/reset/complete"');
    for (const secret of [tokenOf(link), encodeURIComponent(tokenOf(link)), sha256(tokenOf(link)), 'the logged new passphrase']) {
      expect(log).not.toContain(secret);
    }
  });
});

describe('reset links and the log in development, without SMTP', () => {
  /** A development server (no SMTP) and the link of one reset asked through its form, with the log it wrote. */
  async function resetInDevelopment(extraEnv: Record<string, string>): Promise<{ link: string; log: string }> {
    const outbox = outboxDir();
    const { lines, sink } = logLines();
    const server = await startTestServer('embedded', { NODE_ENV: 'development', POSTERN_MAIL_OUTBOX: outbox, ...NO_LIMITS, ...extraEnv }, createLogger('info', sink));
    try {
      const username = `dev-${randomBytes(3).toString('hex')}`;
      await server.services.accounts.create({ username, email: `${username}@example.test` }, 'the old passphrase of this user');
      const since = new Date();
      expect((await requestReset(server, username)).status).toBe(200);
      const link = await resetLink(outbox, `${username}@example.test`, since);
      return { link, log: lines.join('') };
    } finally {
      await server.close();
      await rm(outbox, { recursive: true, force: true });
    }
  }

  it('keeps the link out of the log by default, and says where to read the message', async () => {
    const { link, log } = await resetInDevelopment({});
    expect(log).not.toContain(tokenOf(link));
    expect(log).toContain('mail not sent: no SMTP configured');
    expect(log).toContain('POSTERN_MAIL_LOG_LINKS');
  });

  it('writes the link to the log when POSTERN_MAIL_LOG_LINKS=true asks for it', async () => {
    const { link, log } = await resetInDevelopment({ POSTERN_MAIL_LOG_LINKS: 'true' });
    expect(log).toContain(link);
  });
});
