import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_TRUSTED_DEVICES } from '../../src/domain/trusted-devices.ts';
import { availableBackends } from '../support/backends.ts';
import { extractLink, waitForMail } from '../support/outbox.ts';
import { signIn, startAuthorization, useSeededServer } from '../support/relying-party.ts';
import { formAction, hiddenField, UserAgent, type Page } from '../support/user-agent.ts';

const PASSWORD = 'the first passphrase of this user';
const NEW_PASSWORD = 'a second passphrase, chosen later';
const csrf = (page: Page) => hiddenField(page.html, 'csrf');

interface User {
  id: string;
  username: string;
  email: string;
}

/**
 * A browser that once signed in holds a device cookie that lets it through the account-wide lockout.
 * Someone who knew the password once must not be able to keep such cookies, or collect any number
 * of them, and go on guessing while everyone else is locked out.
 */
describe.each(availableBackends())('trusted devices and the lockout on %s', (backend) => {
  const outbox = join(tmpdir(), `postern-outbox-${randomBytes(6).toString('hex')}`);
  const t = useSeededServer(backend, {
    POSTERN_LOCKOUT_THRESHOLD: '3',
    POSTERN_LOCKOUT_STEP: '120',
    POSTERN_LOCKOUT_MAX: '120',
    POSTERN_TRUST_PROXY: 'true',
    POSTERN_RATE_LIMIT_LOGIN: '2000/1m',
    POSTERN_RATE_LIMIT_PASSWORD_RESET: 'off',
    POSTERN_MAIL_OUTBOX: outbox,
  });
  afterAll(() => rm(outbox, { recursive: true, force: true }));

  let addresses = 0;
  let users = 0;
  /** a browser at an address of its own, so that only the account-wide bucket can hold it back */
  const browser = () => {
    addresses += 1;
    return new UserAgent(t.server.issuer, { 'x-forwarded-for': `198.18.${Math.floor(addresses / 250)}.${(addresses % 250) + 1}` });
  };
  const url = (path: string) => new URL(path, t.server.issuer).toString();

  async function newUser(prefix: string): Promise<User> {
    users += 1;
    const username = `${prefix}-${users}`;
    const email = `${username}@example.test`;
    const account = await t.server.services.accounts.create({ username, email, emailVerified: true }, PASSWORD);
    return { id: account.id, username, email };
  }

  /** A new browser that signs in to an application, and keeps its cookies. */
  async function signedInBrowser(user: User, password = PASSWORD): Promise<UserAgent> {
    const agent = browser();
    await signIn(agent, (await startAuthorization(t.config)).url, { username: user.username, password });
    return agent;
  }

  /** Whether the right password gets through the login form in `agent` (its session forgotten first). */
  async function getsThrough(agent: UserAgent, user: User, password: string): Promise<boolean> {
    agent.forgetCookies((name) => name.startsWith('_session') || name.startsWith('_interaction'));
    const login = await agent.get((await startAuthorization(t.config)).url.toString());
    expect(login.html).toContain('name="password"');
    const answer = await agent.post(formAction(login.html), { csrf: csrf(login), login: user.username, password });
    return answer.status !== 401;
  }

  /** Wrong guesses from new browsers until the account-wide bucket locks; a stranger with the right password is then refused. */
  async function lockOut(user: User, password: string): Promise<void> {
    for (let i = 0; i < 3; i += 1) {
      const guesser = browser();
      const login = await guesser.get((await startAuthorization(t.config)).url.toString());
      const answer = await guesser.post(formAction(login.html), { csrf: csrf(login), login: user.username, password: `wrong guess ${i}` });
      expect(answer.status).toBe(401);
    }
    expect(await getsThrough(browser(), user, password)).toBe(false);
  }

  async function trustedRows(accountId: string): Promise<number> {
    const row = await t.server.storage.db('trusted_devices').where({ account_id: accountId }).count({ count: '*' }).first();
    return Number(row?.count);
  }

  /** Signs in to the account pages in `agent` and returns the page at `path`. */
  async function accountPage(agent: UserAgent, user: User, password: string, path: string): Promise<Page> {
    let page = await agent.get(url(path));
    if (page.html.includes('name="password"') && page.url.includes('/interaction/')) {
      page = await agent.post(formAction(page.html), { csrf: csrf(page), login: user.username, password });
    }
    expect(new URL(page.url).pathname).toBe(path);
    return page;
  }

  it(`trusts at most ${MAX_TRUSTED_DEVICES} browsers per account: signing in from one more forgets the least recently used`, async () => {
    const user = await newUser('stockpile');
    const stockpile: UserAgent[] = [];
    for (let i = 0; i <= MAX_TRUSTED_DEVICES; i += 1) stockpile.push(await signedInBrowser(user));
    expect(await trustedRows(user.id)).toBe(MAX_TRUSTED_DEVICES);

    await lockOut(user, PASSWORD);
    expect(await getsThrough(stockpile[0]!, user, PASSWORD)).toBe(false);
    expect(await getsThrough(stockpile[1]!, user, PASSWORD)).toBe(true);
    expect(await getsThrough(stockpile[MAX_TRUSTED_DEVICES]!, user, PASSWORD)).toBe(true);
  });

  const actions: Array<[string, (user: User, owner: UserAgent) => Promise<string>]> = [
    [
      'a password change on the account page',
      async (user, owner) => {
        const form = await accountPage(owner, user, PASSWORD, '/account/password');
        const done = await owner.post(url('/account/password'), { csrf: csrf(form), current_password: PASSWORD, new_password: NEW_PASSWORD, confirm_password: NEW_PASSWORD });
        expect(done.html).toContain('Your password was changed.');
        return NEW_PASSWORD;
      },
    ],
    [
      'a password reset by mail',
      async (user, owner) => {
        const since = new Date();
        const form = await owner.get(url('/reset'));
        await owner.post(url('/reset'), { csrf: csrf(form), login: user.email });
        const link = extractLink(await waitForMail(outbox, { to: user.email, subject: /Reset your password/, since }), '/reset/complete');
        const page = await owner.get(link);
        const done = await owner.post(formAction(page.html), { csrf: csrf(page), token: hiddenField(page.html, 'token'), password: NEW_PASSWORD, confirm: NEW_PASSWORD });
        expect(done.html).toContain('Your password has been changed');
        return NEW_PASSWORD;
      },
    ],
    [
      'postern user set-password',
      async (user) => {
        await t.server.services.accounts.setPassword(user.id, NEW_PASSWORD);
        return NEW_PASSWORD;
      },
    ],
    [
      'sign out everywhere',
      async (user, owner) => {
        // the sessions page links to a question whose form signs out everywhere
        const question = await accountPage(owner, user, PASSWORD, '/account/sessions/end-all');
        const done = await owner.post(url('/account/sessions/end-all'), { csrf: csrf(question) });
        expect(done.html).toContain('every device');
        return PASSWORD;
      },
    ],
  ];

  it.each(actions)('after %s, a browser trusted before is held back by the lockout like any other', async (_action, act) => {
    const user = await newUser('ended');
    // signed in once while the password was known: the browser an attacker would keep
    const former = await signedInBrowser(user);
    const owner = await signedInBrowser(user);
    const password = await act(user, owner);
    // signed in since: trusted, which shows the lockout still lets a trusted browser through
    const since = await signedInBrowser(user, password);

    await lockOut(user, password);
    expect(await getsThrough(former, user, password)).toBe(false);
    expect(await getsThrough(since, user, password)).toBe(true);
  });

  it('the browser that changed the password on the account page stays trusted', async () => {
    const user = await newUser('changer');
    const owner = browser();
    const form = await accountPage(owner, user, PASSWORD, '/account/password');
    await owner.post(url('/account/password'), { csrf: csrf(form), current_password: PASSWORD, new_password: NEW_PASSWORD, confirm_password: NEW_PASSWORD });
    await lockOut(user, NEW_PASSWORD);
    expect(await getsThrough(owner, user, NEW_PASSWORD)).toBe(true);
  });

  it('deleting the account deletes its trusted devices', async () => {
    const user = await newUser('deleted');
    await signedInBrowser(user);
    await signedInBrowser(user);
    expect(await trustedRows(user.id)).toBe(2);
    await t.server.services.accounts.delete(user.id);
    expect(await trustedRows(user.id)).toBe(0);
  });
});
