import * as oidc from 'openid-client';
import { describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { Authenticator } from '../support/authenticator.ts';
import { signInAndExchange, startAuthorization, useSeededServer, type Fixture } from '../support/relying-party.ts';
import { formAction, hiddenField, UserAgent, type Page } from '../support/user-agent.ts';

const PASSWORD = 'a sturdy old passphrase here';
const CHROME_ON_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const SAFARI_ON_MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15';
const FIREFOX_ON_ANDROID = 'Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0';

/**
 * Codes from an authenticator app. The server accepts each 30-second step once, only newer steps
 * after it, and one step either side of its clock; each call returns the code of the oldest step
 * still certain to pass, waiting for the clock only when all of them are used.
 */

const heading = (page: Page) => /<h1>([^<]*)<\/h1>/.exec(page.html)?.[1];
const isSignInForm = (page: Page) => page.url.includes('/interaction/') && page.html.includes('name="password"');
const csrf = (page: Page) => hiddenField(page.html, 'csrf');
const unescape = (text: string) => text.replaceAll('&amp;', '&').replaceAll('&#39;', "'").replaceAll('&quot;', '"');

/** The session uid in the sign-out link of the session item that names `device`. */
function sessionUidOf(page: Page, device: string): string {
  const item = page.html.split('<li class="account-item').find((chunk) => chunk.includes(device));
  const uid = item && /sessions\/end\?session=([^"&]+)"/.exec(item)?.[1];
  if (!uid) throw new Error(`no session of ${device} on the page`);
  return decodeURIComponent(uid);
}

/** The grant ids in the first "Remove access" link of the applications page. */
function grantsOf(page: Page): string {
  const grants = /applications\/revoke\?grants=([^"&]+)"/.exec(page.html)?.[1];
  if (!grants) throw new Error('no application on the page');
  return decodeURIComponent(grants);
}

describe.each(availableBackends())('the account pages on %s', (backend) => {
  // many sign-ins from one address in a short time: the login rate limit is not under test here
  const t = useSeededServer(backend, { POSTERN_RATE_LIMIT_LOGIN: '2000/1m' });
  let users = 0;

  const url = (path: string) => new URL(path, t.server.issuer).toString();

  async function newUser(prefix: string): Promise<Fixture> {
    users += 1;
    const username = `${prefix}-${users}`;
    const account = await t.server.services.accounts.create({ username, email: `${username}@example.test`, emailVerified: true, name: 'Alex Example' }, PASSWORD);
    return { ...t.fixture, username, password: PASSWORD, accountId: account.id };
  }

  async function audit(accountId: string, type: string): Promise<Array<{ client_id: string | null; details: Record<string, unknown>; ip: string | null }>> {
    const rows = await t.server.storage.db('audit_events').where({ account_id: accountId, type }).orderBy('id').select('client_id', 'details', 'ip');
    return rows.map((row: { client_id: string | null; details: unknown; ip: string | null }) => ({
      ...row,
      details: (typeof row.details === 'string' ? JSON.parse(row.details) : row.details) as Record<string, unknown>,
    }));
  }

  /** Through /account: the engine's sign-in (password, then a code when asked), back to `path`. */
  async function signInToAccount(agent: UserAgent, user: Pick<Fixture, 'username' | 'password'>, path = '/account', authenticator?: Authenticator): Promise<Page> {
    let page = await agent.get(url(path));
    if (isSignInForm(page)) page = await agent.post(formAction(page.html), { csrf: csrf(page), login: user.username, password: user.password });
    if (page.url.endsWith('/totp')) {
      if (!authenticator) throw new Error('a code is asked for and there is no authenticator');
      page = await agent.post(formAction(page.html), { csrf: csrf(page), code: await authenticator.code() });
    }
    expect(page.status, page.html.slice(0, 300)).toBe(200);
    expect(new URL(page.url).pathname).toBe(path);
    return page;
  }

  async function signedInAgent(user: Fixture, headers: Record<string, string> = {}, authenticator?: Authenticator) {
    const agent = new UserAgent(t.server.issuer, headers);
    await signInToAccount(agent, user, '/account', authenticator);
    return agent;
  }

  async function expectSignedOut(agent: UserAgent) {
    const page = await agent.get(url('/account'));
    expect(isSignInForm(page), `${page.url}: ${heading(page)}`).toBe(true);
  }

  async function expectSignedIn(agent: UserAgent) {
    const page = await agent.get(url('/account'));
    expect(heading(page)).toBe('Your account');
  }

  /** Turns two-step verification on through the pages; returns the app and the recovery codes shown. */
  async function enrol(agent: UserAgent, user: Fixture) {
    const page = await agent.get(url('/account/two-step/enrol'));
    const secret = /id="totp-secret">([A-Z2-7 ]+)</.exec(page.html)?.[1]?.replaceAll(' ', '');
    expect(secret).toBeTruthy();
    const authenticator = new Authenticator(secret!);
    const done = await agent.post(formAction(page.html), { csrf: csrf(page), code: await authenticator.code(), password: user.password });
    expect(heading(done)).toBe('Your recovery codes');
    const codes = [...done.html.matchAll(/<li><code>([^<]+)<\/code><\/li>/g)].map((match) => match[1]!);
    expect(codes).toHaveLength(10);
    return { authenticator, codes };
  }

  /** An application sign-in with the password and a recovery code; returns the last page (status 0 at the application). */
  async function signInWithRecoveryCode(user: Fixture, code: string): Promise<Page> {
    const agent = new UserAgent(t.server.issuer);
    const start = await startAuthorization(t.config);
    let page = await agent.get(start.url.toString());
    page = await agent.post(formAction(page.html), { csrf: csrf(page), login: user.username, password: user.password });
    expect(page.url).toMatch(/\/totp$/);
    page = await agent.get(`${page.url}?recovery=1`);
    return agent.post(formAction(page.html), { csrf: csrf(page), recovery_code: code });
  }

  it('sends a browser without a session to sign in through the engine, then back to the page it asked for', async () => {
    const user = await newUser('visitor');
    const agent = new UserAgent(t.server.issuer);
    const first = await agent.request(url('/account/sessions'));
    expect(first.status).toBe(303);
    expect(first.headers.get('cache-control')).toBe('no-store');
    const authorize = new URL(first.headers.get('location')!);
    expect(authorize.pathname).toBe('/auth');
    expect(authorize.searchParams.get('client_id')).toBe('postern-account');
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('redirect_uri')).toBe(url('/account/callback'));

    const login = await agent.get(authorize.toString());
    expect(isSignInForm(login)).toBe(true);
    expect(login.html).toContain('Your account');
    const page = await agent.post(formAction(login.html), { csrf: csrf(login), login: user.username, password: user.password });
    expect(new URL(page.url).pathname).toBe('/account/sessions');
    expect(heading(page)).toBe('Sessions and devices');
    expect(page.html).toContain('This device');

    const overview = await agent.get(url('/account'));
    expect(heading(overview)).toBe('Your account');
    expect(overview.html).toContain(user.username);
    expect(overview.html).toContain(`${user.username}@example.test`);
    expect(overview.html).toContain('Verified');
    expect(overview.html).toContain('href="/session/end"');
    // the account pages' own client is not an application the user gave access to
    const applications = await agent.get(url('/account/applications'));
    expect(applications.html).not.toContain('Your account</p>');
    expect(applications.html).toContain('No application has access');
  });

  it('refuses a callback that does not belong to the sign-in this browser started', async () => {
    const stranger = await new UserAgent(t.server.issuer).get(url('/account/callback?code=abc&state=forged'));
    expect(stranger.status).toBe(400);
    expect(heading(stranger)).toBe('Sign-in did not finish');

    const agent = new UserAgent(t.server.issuer);
    const started = await agent.request(url('/account'));
    const state = new URL(started.headers.get('location')!).searchParams.get('state')!;
    expect((await agent.get(url(`/account/callback?code=abc&state=${state}x`))).status).toBe(400);
    // the flow is forgotten after one callback, even a refused one
    expect((await agent.get(url(`/account/callback?code=abc&state=${state}`))).status).toBe(400);

    const again = await agent.request(url('/account'));
    const second = new URL(again.headers.get('location')!).searchParams.get('state')!;
    expect((await agent.get(url(`/account/callback?state=${second}`))).status).toBe(400);

    const cancelled = await agent.request(url('/account'));
    const third = new URL(cancelled.headers.get('location')!).searchParams.get('state')!;
    const page = await agent.get(url(`/account/callback?error=access_denied&state=${third}`));
    expect(heading(page)).toBe('Sign-in cancelled');
    // a right state and a code, but this browser has no session: the pages do not pretend otherwise
    const fourth = new URL((await agent.request(url('/account'))).headers.get('location')!).searchParams.get('state')!;
    expect((await agent.get(url(`/account/callback?code=abc&state=${fourth}`))).status).toBe(403);
  });

  it('refuses every form posted without the CSRF field (403) and changes nothing', async () => {
    const user = await newUser('csrf');
    const { tokens } = await signInAndExchange(t.server, t.config, user);
    const agent = await signedInAgent(user, { 'user-agent': CHROME_ON_WINDOWS });
    const other = await signedInAgent(user, { 'user-agent': SAFARI_ON_MAC });
    const sessions = await agent.get(url('/account/sessions'));
    const otherUid = sessionUidOf(sessions, 'Safari 17 on macOS');
    const grants = grantsOf(await agent.get(url('/account/applications')));

    const refused = async (path: string, fields: Record<string, string>) => {
      const page = await agent.post(url(path), fields);
      expect(page.status, path).toBe(403);
      const forged = await agent.post(url(path), { ...fields, csrf: 'not-the-token' });
      expect(forged.status, path).toBe(403);
    };
    await refused('/account/password', { current_password: PASSWORD, new_password: 'another fine passphrase', confirm_password: 'another fine passphrase' });
    await refused('/account/sessions/end', { session: otherUid });
    await refused('/account/sessions/end-all', {});
    await refused('/account/applications/revoke', { grants });
    const enrolPage = await agent.get(url('/account/two-step/enrol'));
    const authenticator = new Authenticator(/id="totp-secret">([A-Z2-7 ]+)</.exec(enrolPage.html)![1]!.replaceAll(' ', ''));
    await refused('/account/two-step/enrol', { code: await authenticator.peek(), password: PASSWORD });

    expect(await t.server.services.accounts.checkPassword(user.accountId, PASSWORD)).toBe(true);
    await expectSignedIn(other);
    await expectSignedIn(agent);
    expect((await oidc.refreshTokenGrant(t.config, tokens.refresh_token!)).access_token).toBeTruthy();
    expect(await t.server.services.totp.isEnabled(user.accountId)).toBe(false);

    const { authenticator: app } = await enrol(agent, user);
    await refused('/account/two-step/disable', { password: PASSWORD, code: await app.peek() });
    await refused('/account/two-step/recovery-codes', { code: await app.peek() });
    expect(await t.server.services.totp.isEnabled(user.accountId)).toBe(true);
    expect(await t.server.services.recoveryCodes.remaining(user.accountId)).toBe(10);
    expect(await audit(user.accountId, 'recovery_codes.regenerated')).toHaveLength(0);
    expect(await audit(user.accountId, 'password.changed')).toHaveLength(0);
  });

  it('changes the password only with the current one and within the policy; the old one stops working and other devices are signed out', async () => {
    const user = await newUser('changer');
    const agent = await signedInAgent(user);
    const other = await signedInAgent(user);
    let page = await agent.get(url('/account/password'));
    expect(heading(page)).toBe('Change your password');
    const next = 'the brand new passphrase';

    page = await agent.post(url('/account/password'), { csrf: csrf(page), current_password: 'not my password at all', new_password: next, confirm_password: next });
    expect(page.status).toBe(401);
    expect(page.html).toContain('That is not your current password.');
    page = await agent.post(url('/account/password'), { csrf: csrf(page), current_password: PASSWORD, new_password: 'too short', confirm_password: 'too short' });
    expect(page.status).toBe(400);
    expect(page.html).toContain('Use at least 12 characters.');
    page = await agent.post(url('/account/password'), { csrf: csrf(page), current_password: PASSWORD, new_password: `my ${user.username} password`, confirm_password: `my ${user.username} password` });
    expect(page.status).toBe(400);
    expect(page.html).toContain('must not contain your username');
    page = await agent.post(url('/account/password'), { csrf: csrf(page), current_password: PASSWORD, new_password: next, confirm_password: `${next}!` });
    expect(page.status).toBe(400);
    expect(page.html).toContain('not the same');
    expect(await t.server.services.accounts.checkPassword(user.accountId, PASSWORD)).toBe(true);
    expect(await audit(user.accountId, 'reauthentication.failed')).toMatchObject([{ details: { action: 'change_password', reason: 'wrong_password' } }]);

    page = await agent.post(url('/account/password'), { csrf: csrf(page), current_password: PASSWORD, new_password: next, confirm_password: next });
    expect(heading(page)).toBe('Your account');
    expect(page.html).toContain('Your password was changed.');
    expect(await audit(user.accountId, 'password.changed')).toMatchObject([{ details: { otherSessionsEnded: 1 } }]);

    await expectSignedIn(agent);
    await expectSignedOut(other);
    const oldPassword = new UserAgent(t.server.issuer);
    const login = await oldPassword.get(url('/account'));
    const refused = await oldPassword.post(formAction(login.html), { csrf: csrf(login), login: user.username, password: PASSWORD });
    expect(refused.status).toBe(401);
    await signedInAgent({ ...user, password: next });
  });

  /** The checkboxes a browser sends when the form is submitted as it was served: the checked ones. */
  function checkedBoxes(page: Page): Record<string, string> {
    const boxes = [...page.html.matchAll(/<input [^>]*type="checkbox"[^>]*>/g)].map((match) => match[0]);
    return Object.fromEntries(
      boxes.filter((box) => / checked[ >]/.test(box)).map((box) => [/name="([^"]+)"/.exec(box)![1]!, /value="([^"]*)"/.exec(box)?.[1] ?? 'on']),
    );
  }

  it('changing the password signs out of every application by default: refresh and access tokens stop working, every browser signs in again', async () => {
    const user = await newUser('changer-everywhere');
    const { tokens } = await signInAndExchange(t.server, t.config, user);
    const api = await signInAndExchange(t.server, t.config, user, { scope: 'openid offline_access read' });
    const elsewhere = await signedInAgent(user);
    const agent = await signedInAgent(user);
    const next = 'a completely fresh passphrase';

    let page = await agent.get(url('/account/password'));
    expect(page.html).toContain('Also sign out of every application');
    expect(page.html).toContain('applications keep their access');
    expect(checkedBoxes(page)).toEqual({ sign_out_everywhere: 'yes' });
    page = await agent.post(url('/account/password'), { csrf: csrf(page), current_password: PASSWORD, new_password: next, confirm_password: next, ...checkedBoxes(page) });
    expect(heading(page)).toBe('You are signed out');
    expect(page.html).toContain('Your password was changed.');

    await expect(oidc.refreshTokenGrant(t.config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(oidc.refreshTokenGrant(t.config, api.tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await oidc.tokenIntrospection(t.config, tokens.access_token)).active).toBe(false);
    expect((await oidc.tokenIntrospection(t.config, api.tokens.access_token)).active).toBe(false);
    await expectSignedOut(elsewhere);
    await expectSignedOut(agent);
    const [event] = await audit(user.accountId, 'password.changed');
    expect(event?.details).toMatchObject({ via: 'account', signedOutEverywhere: true });
    expect(event?.details.grants).toBeGreaterThanOrEqual(2);
    await signedInAgent({ ...user, password: next });
  });

  it('changing the password with the box unchecked: applications keep their tokens, other browsers are signed out, this one stays', async () => {
    const user = await newUser('changer-here');
    const { tokens } = await signInAndExchange(t.server, t.config, user);
    const elsewhere = await signedInAgent(user);
    const agent = await signedInAgent(user);
    const next = 'a completely fresh passphrase';

    let page = await agent.get(url('/account/password'));
    const { sign_out_everywhere: _unchecked, ...fields } = checkedBoxes(page);
    page = await agent.post(url('/account/password'), { csrf: csrf(page), current_password: PASSWORD, new_password: next, confirm_password: next, ...fields });
    expect(heading(page)).toBe('Your account');
    expect(page.html).toContain('Your password was changed.');

    expect((await oidc.tokenIntrospection(t.config, tokens.access_token)).active).toBe(true);
    expect((await oidc.refreshTokenGrant(t.config, tokens.refresh_token!)).access_token).toBeTruthy();
    await expectSignedIn(agent);
    await expectSignedOut(elsewhere);
    // the application's sign-in browser and the other one
    expect(await audit(user.accountId, 'password.changed')).toMatchObject([{ details: { via: 'account', otherSessionsEnded: 2 } }]);
  });

  it('signs out everywhere: refresh and access tokens stop working and every browser must sign in again', async () => {
    const user = await newUser('everywhere');
    const application = new UserAgent(t.server.issuer);
    const { tokens } = await signInAndExchange(t.server, t.config, user, {}, application);
    const api = await signInAndExchange(t.server, t.config, user, { scope: 'openid offline_access read' });
    expect((await oidc.tokenIntrospection(t.config, tokens.access_token)).active).toBe(true);
    expect((await oidc.tokenIntrospection(t.config, api.tokens.access_token)).active).toBe(true);
    const elsewhere = await signedInAgent(user);
    const agent = await signedInAgent(user);

    const sessions = await agent.get(url('/account/sessions'));
    const question = await agent.get(url(/href="(\/account\/sessions\/end-all)"/.exec(sessions.html)![1]!));
    expect(heading(question)).toBe('Sign out everywhere?');
    const page = await agent.post(formAction(question.html), { csrf: csrf(question) });
    expect(heading(page)).toBe('You are signed out');
    expect(page.html).toContain('every device');

    await expect(oidc.refreshTokenGrant(t.config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(oidc.refreshTokenGrant(t.config, api.tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await oidc.tokenIntrospection(t.config, tokens.access_token)).active).toBe(false);
    expect((await oidc.tokenIntrospection(t.config, api.tokens.access_token)).active).toBe(false);
    await expectSignedOut(elsewhere);
    await expectSignedOut(agent);
    const again = await application.get((await startAuthorization(t.config)).url.toString());
    expect(again.html).toContain('name="password"');

    const [event] = await audit(user.accountId, 'session.ended_all');
    expect(event?.details.sessions).toBeGreaterThanOrEqual(4);
    expect(event?.details.grants).toBeGreaterThanOrEqual(1);
    // signing in again works, and the new session is a session like any other
    await signedInAgent(user);
  });

  it('signs out one other device, names each browser, and marks this one', async () => {
    const user = await newUser('devices');
    const agent = await signedInAgent(user, { 'user-agent': CHROME_ON_WINDOWS });
    const phone = await signedInAgent(user, { 'user-agent': FIREFOX_ON_ANDROID });
    const laptop = await signedInAgent(user, { 'user-agent': SAFARI_ON_MAC });

    let page = await agent.get(url('/account/sessions'));
    expect(page.html.match(/<li class="account-item/g)).toHaveLength(3);
    expect(page.html).toContain('Chrome 120 on Windows <span class="account-badge account-badge-ok">This device</span>');
    expect(page.html).toContain('Firefox 121 on Android 14');
    expect(page.html).toContain('Safari 17 on macOS');
    expect(page.html).toContain('127.0.0.1');
    // this device has the engine's sign-out link, the others a link to a question each
    expect(page.html.match(/sessions\/end\?session=/g)).toHaveLength(2);

    const phoneUid = sessionUidOf(page, 'Firefox 121 on Android 14');
    const question = await agent.get(url(`/account/sessions/end?session=${encodeURIComponent(phoneUid)}`));
    expect(heading(question)).toBe('Sign out this device?');
    expect(question.html).toContain('Firefox 121 on Android 14');
    page = await agent.post(formAction(question.html), { csrf: csrf(question), session: hiddenField(question.html, 'session') });
    expect(heading(page)).toBe('Sessions and devices');
    expect(page.html).toContain('That device was signed out.');
    expect(page.html).not.toContain('Firefox 121');
    await expectSignedOut(phone);
    await expectSignedIn(laptop);
    await expectSignedIn(agent);
    expect(await audit(user.accountId, 'session.ended')).toMatchObject([{ details: { sessionUid: phoneUid, current: false } }]);

    // a second time: that session is gone
    expect((await agent.post(url('/account/sessions/end'), { csrf: csrf(question), session: phoneUid })).status).toBe(404);
    expect((await agent.get(url(`/account/sessions/end?session=${encodeURIComponent(phoneUid)}`))).status).toBe(404);
  });

  it("will not end another user's session or remove another user's application", async () => {
    const victim = await newUser('victim');
    const { tokens } = await signInAndExchange(t.server, t.config, victim);
    const victimHere = await signedInAgent(victim, { 'user-agent': CHROME_ON_WINDOWS });
    const victimThere = await signedInAgent(victim, { 'user-agent': SAFARI_ON_MAC });
    const victimUid = sessionUidOf(await victimHere.get(url('/account/sessions')), 'Safari 17 on macOS');
    const victimGrants = grantsOf(await victimHere.get(url('/account/applications')));

    const attacker = await newUser('attacker');
    await signInAndExchange(t.server, t.config, attacker);
    const agent = await signedInAgent(attacker);
    const ownGrants = grantsOf(await agent.get(url('/account/applications')));
    const page = await agent.get(url(`/account/applications/revoke?grants=${encodeURIComponent(ownGrants)}`));

    // neither the question nor the action reaches another user's session or grants
    expect((await agent.get(url(`/account/sessions/end?session=${encodeURIComponent(victimUid)}`))).status).toBe(404);
    expect((await agent.get(url(`/account/applications/revoke?grants=${encodeURIComponent(victimGrants)}`))).status).toBe(404);
    expect((await agent.get(url(`/account/applications/revoke?grants=${encodeURIComponent(`${ownGrants} ${victimGrants}`)}`))).status).toBe(404);
    expect((await agent.post(url('/account/sessions/end'), { csrf: csrf(page), session: victimUid })).status).toBe(404);
    expect((await agent.post(url('/account/applications/revoke'), { csrf: csrf(page), grants: victimGrants })).status).toBe(404);
    // mixed with one of the attacker's own: all or nothing
    expect((await agent.post(url('/account/applications/revoke'), { csrf: csrf(page), grants: `${ownGrants} ${victimGrants}` })).status).toBe(404);

    await expectSignedIn(victimThere);
    expect((await oidc.refreshTokenGrant(t.config, tokens.refresh_token!)).access_token).toBeTruthy();
    expect(grantsOf(await agent.get(url('/account/applications')))).toBe(ownGrants);
    expect(await audit(victim.accountId, 'session.ended')).toHaveLength(0);
    expect(await audit(victim.accountId, 'grant.revoked')).toHaveLength(0);
    expect(await audit(attacker.accountId, 'grant.revoked')).toHaveLength(0);
  });

  it("removes an application's access: its refresh and access tokens stop working", async () => {
    const user = await newUser('revoker');
    const { tokens } = await signInAndExchange(t.server, t.config, user, { scope: 'openid profile email offline_access read' });
    const agent = await signedInAgent(user);
    let page = await agent.get(url('/account/applications'));
    expect(heading(page)).toBe('Applications with access');
    expect(page.html).toContain('Example App');
    expect(page.html).toContain('Your email address');
    expect(page.html).toContain('Example API');
    expect(page.html).toContain('Read your data');
    const overview = await agent.get(url('/account'));
    expect(overview.html).toContain('1 application can use your account');

    // the link asks first; its form posts the removal
    page = await agent.get(url(`/account/applications/revoke?grants=${encodeURIComponent(grantsOf(page))}`));
    expect(heading(page)).toBe('Remove access for Example App?');
    page = await agent.post(formAction(page.html), { csrf: csrf(page), grants: hiddenField(page.html, 'grants') });
    expect(unescape(page.html)).toContain('Access removed.');
    expect(page.html).not.toContain('Example App');
    await expect(oidc.refreshTokenGrant(t.config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await oidc.tokenIntrospection(t.config, tokens.access_token)).active).toBe(false);
    expect(await audit(user.accountId, 'grant.revoked')).toMatchObject([{ client_id: t.fixture.clientId, details: { grants: 1 } }]);
    // the account pages themselves still work
    await expectSignedIn(agent);
  });

  it('turns two-step verification on with a code and the password; the next sign-in asks for a code', async () => {
    const user = await newUser('enroller');
    const agent = await signedInAgent(user);
    let page = await agent.get(url('/account/two-step'));
    expect(page.html).toContain('>Off<');
    page = await agent.get(url('/account/two-step/enrol'));
    expect(page.html).toContain('<svg role="img"');
    const secret = /id="totp-secret">([A-Z2-7 ]+)</.exec(page.html)![1]!.replaceAll(' ', '');
    const authenticator = new Authenticator(secret);
    // a reload shows the same secret: an app that scanned it keeps working
    expect((await agent.get(url('/account/two-step/enrol'))).html).toContain(secret);

    page = await agent.post(url('/account/two-step/enrol'), { csrf: csrf(page), code: await authenticator.peek(), password: 'not my password at all' });
    expect(page.status).toBe(401);
    expect(await t.server.services.totp.isEnabled(user.accountId)).toBe(false);
    const wrong = (await authenticator.peek()) === '000000' ? '111111' : '000000';
    page = await agent.post(url('/account/two-step/enrol'), { csrf: csrf(page), code: wrong, password: PASSWORD });
    expect(page.status).toBe(400);
    expect(page.html).toContain(secret);
    expect(await t.server.services.totp.isEnabled(user.accountId)).toBe(false);

    page = await agent.post(url('/account/two-step/enrol'), { csrf: csrf(page), code: await authenticator.code(), password: PASSWORD });
    expect(heading(page)).toBe('Your recovery codes');
    expect(page.html.match(/<li><code>/g)).toHaveLength(10);
    expect(await t.server.services.totp.isEnabled(user.accountId)).toBe(true);
    expect(await audit(user.accountId, 'second_factor.enrolled')).toMatchObject([{ details: { method: 'totp', during: 'account' } }]);
    page = await agent.get(url('/account/two-step'));
    expect(page.html).toContain('10 recovery codes are left.');
    expect(page.html).not.toContain('<li><code>');
    expect((await agent.get(url('/account'))).html).toContain('On: a code');
    // enrolment is over: its page sends the browser back
    expect(heading(await agent.get(url('/account/two-step/enrol')))).toBe('Two-step verification');

    const fresh = new UserAgent(t.server.issuer);
    let signIn = await fresh.get(url('/account'));
    signIn = await fresh.post(formAction(signIn.html), { csrf: csrf(signIn), login: user.username, password: PASSWORD });
    expect(signIn.url).toMatch(/\/totp$/);
    expect(signIn.html).toContain('name="code"');
    signIn = await fresh.post(formAction(signIn.html), { csrf: csrf(signIn), code: await authenticator.code() });
    expect(heading(signIn)).toBe('Your account');
  });

  it('turns two-step verification off only with the right password and a current code (or a recovery code)', async () => {
    const user = await newUser('disabler');
    const agent = await signedInAgent(user);
    const { authenticator, codes } = await enrol(agent, user);
    let page = await agent.get(url('/account/two-step'));
    // the page links to a question; the question's form is the one that turns it off
    expect(page.html).toContain('href="/account/two-step/disable"');
    page = await agent.get(url('/account/two-step/disable'));
    expect(heading(page)).toBe('Turn off two-step verification?');
    expect(formAction(page.html)).toBe('/account/two-step/disable');

    page = await agent.post(url('/account/two-step/disable'), { csrf: csrf(page), password: 'not my password at all', code: await authenticator.peek() });
    expect(page.status).toBe(401);
    expect(page.html).toContain('That is not your current password.');
    page = await agent.post(url('/account/two-step/disable'), { csrf: csrf(page), password: PASSWORD, code: '123456' });
    expect(page.status).toBe(401);
    page = await agent.post(url('/account/two-step/disable'), { csrf: csrf(page), password: PASSWORD, code: '' });
    expect(page.status).toBe(401);
    expect(await t.server.services.totp.isEnabled(user.accountId)).toBe(true);
    expect(await audit(user.accountId, 'reauthentication.failed')).toHaveLength(3);

    page = await agent.post(url('/account/two-step/disable'), { csrf: csrf(page), password: PASSWORD, code: await authenticator.code() });
    expect(page.html).toContain('Two-step verification is off');
    expect(await t.server.services.totp.isEnabled(user.accountId)).toBe(false);
    expect(await t.server.services.recoveryCodes.remaining(user.accountId)).toBe(0);
    expect(await t.server.services.recoveryCodes.use(user.accountId, codes[0]!)).toBe(false);
    expect(await audit(user.accountId, 'second_factor.removed')).toMatchObject([{ details: { with: 'totp' } }]);
    // signing in asks for the password alone again
    await signedInAgent(user);

    // lost the phone: a recovery code stands in for the app's code
    const again = await enrol(agent, user);
    page = await agent.get(url('/account/two-step'));
    page = await agent.post(url('/account/two-step/disable'), { csrf: csrf(page), password: PASSWORD, code: again.codes[3]! });
    expect(page.html).toContain('Two-step verification is off');
    expect(await audit(user.accountId, 'second_factor.removed')).toMatchObject([{ details: { with: 'totp' } }, { details: { with: 'recovery_code' } }]);
  });

  it('regenerates recovery codes only with a current code; the old codes stop working', async () => {
    const user = await newUser('regenerator');
    const agent = await signedInAgent(user);
    const { authenticator, codes: old } = await enrol(agent, user);
    let page = await agent.get(url('/account/two-step'));

    page = await agent.post(url('/account/two-step/recovery-codes'), { csrf: csrf(page), code: '000000' === (await authenticator.peek()) ? '111111' : '000000' });
    expect(page.status).toBe(401);
    // a recovery code does not mint new recovery codes
    page = await agent.post(url('/account/two-step/recovery-codes'), { csrf: csrf(page), code: old[0]! });
    expect(page.status).toBe(401);
    expect(await audit(user.accountId, 'recovery_codes.regenerated')).toHaveLength(0);

    page = await agent.post(url('/account/two-step/recovery-codes'), { csrf: csrf(page), code: await authenticator.code() });
    expect(heading(page)).toBe('Your recovery codes');
    expect(page.html).toContain('Your earlier codes no longer work.');
    const fresh = [...page.html.matchAll(/<li><code>([^<]+)<\/code><\/li>/g)].map((match) => match[1]!);
    expect(fresh).toHaveLength(10);
    expect(fresh.some((code) => old.includes(code))).toBe(false);
    expect(await audit(user.accountId, 'recovery_codes.regenerated')).toMatchObject([{ details: { count: 10 } }]);

    expect((await signInWithRecoveryCode(user, old[1]!)).status).toBe(401);
    expect((await signInWithRecoveryCode(user, fresh[0]!)).status).not.toBe(401);
    expect((await agent.get(url('/account/two-step'))).html).toContain('9 recovery codes are left.');
  });

  it('answers HTML with no-store, and refuses methods the pages do not have', async () => {
    const user = await newUser('headers');
    const agent = await signedInAgent(user);
    for (const path of ['/account', '/account/password', '/account/sessions', '/account/two-step', '/account/two-step/enrol', '/account/applications', '/account/signed-out']) {
      const response = await agent.request(url(path));
      expect(response.status, path).toBe(200);
      expect(response.headers.get('cache-control'), path).toBe('no-store');
      expect(response.headers.get('content-type'), path).toMatch(/^text\/html/);
      expect(await response.text(), path).not.toMatch(/<script|style=/);
    }
    expect((await agent.request(url('/account/password'), { method: 'DELETE' })).status).toBe(405);
  });
});

describe.each(availableBackends())('guessing through the account pages on %s', (backend) => {
  const t = useSeededServer(backend, { POSTERN_LOCKOUT_THRESHOLD: '3', POSTERN_LOCKOUT_STEP: '60', POSTERN_RATE_LIMIT_LOGIN: '2000/1m' });

  it('a signed-in browser cannot guess the current password without limit', async () => {
    const username = `guesser-${backend.replace(/\W/g, '')}`;
    await t.server.services.accounts.create({ username }, PASSWORD);
    const agent = new UserAgent(t.server.issuer);
    let page = await agent.get(new URL('/account/password', t.server.issuer).toString());
    page = await agent.post(formAction(page.html), { csrf: csrf(page), login: username, password: PASSWORD });
    expect(heading(page)).toBe('Change your password');
    for (let i = 0; i < 3; i += 1) {
      page = await agent.post(formAction(page.html), { csrf: csrf(page), current_password: `guess ${i}`, new_password: 'a new passphrase here', confirm_password: 'a new passphrase here' });
      expect(page.html).toContain('That is not your current password.');
    }
    // locked now: even the right password is not checked
    page = await agent.post(formAction(page.html), { csrf: csrf(page), current_password: PASSWORD, new_password: 'a new passphrase here', confirm_password: 'a new passphrase here' });
    expect(page.status).toBe(401);
    expect(page.html).toContain('Too many wrong attempts.');
    const account = await t.server.services.accounts.findByLogin(username);
    expect(await t.server.services.accounts.checkPassword(account!.id, PASSWORD)).toBe(true);
    const locked = await t.server.storage.db('audit_events').where({ account_id: account!.id, type: 'login.locked' });
    expect(locked).toHaveLength(1);
  });
});
