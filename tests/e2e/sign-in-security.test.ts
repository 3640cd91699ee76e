import { generate } from 'otplib';
import * as oidc from 'openid-client';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { REDIRECT_URI, seed, signIn, startAuthorization, useSeededServer, type Fixture, type SeededServer } from '../support/relying-party.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { formAction, hiddenField, UserAgent, type Page } from '../support/user-agent.ts';

const MFA = 'urn:postern:acr:mfa';
const PWD = 'urn:postern:acr:pwd';
const WRONG = 'The username or password is not right.';

async function exchange(t: SeededServer, start: Awaited<ReturnType<typeof startAuthorization>>, callback: URL) {
  return oidc.authorizationCodeGrant(t.config, callback, { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce });
}

/** Posts the login form of `page`. */
function submitPassword(agent: UserAgent, page: Page, login: string, password: string) {
  return agent.post(formAction(page.html), { csrf: hiddenField(page.html, 'csrf'), login, password });
}

function submitCode(agent: UserAgent, page: Page, fields: Record<string, string>) {
  return agent.post(formAction(page.html), { csrf: hiddenField(page.html, 'csrf'), ...fields });
}

async function auditTypes(t: SeededServer, accountId: string): Promise<Array<{ type: string; details: Record<string, unknown> }>> {
  return t.server.storage.db('audit_events').where({ account_id: accountId }).orderBy('id').select('type', 'details');
}

/** The code of the next 30-second step: inside the ±1 step drift, and newer than a code just used. */
const nextStepCode = (secret: string) => generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 });

describe.each(availableBackends())('sign-in security on %s', (backend) => {
  describe('brute force', () => {
    const t = useSeededServer(backend, { POSTERN_LOCKOUT_THRESHOLD: '3', POSTERN_LOCKOUT_STEP: '2', POSTERN_LOCKOUT_MAX: '4', POSTERN_TRUST_PROXY: 'true' });

    it('locks an account after the threshold, answers exactly like a wrong password, records it, and releases it after the wait', async () => {
      const account = await t.server.services.accounts.create({ username: `locked-${backend}` }, 'a perfectly fine passphrase');
      const agent = new UserAgent(t.server.issuer, { 'x-forwarded-for': '203.0.113.10' });
      const start = await startAuthorization(t.config);
      let page = await agent.get(start.url.toString());
      for (let i = 0; i < 3; i += 1) {
        page = await submitPassword(agent, page, `locked-${backend}`, 'not the password at all');
        expect(page.status).toBe(401);
      }
      const wrongPage = page;
      // the right password while locked: the same status and the same message as a wrong one
      page = await submitPassword(agent, page, `locked-${backend}`, 'a perfectly fine passphrase');
      expect(page.status).toBe(401);
      expect(page.html).toContain(WRONG);
      expect(page.html.replace(/value="[^"]*"/g, '')).toBe(wrongPage.html.replace(/value="[^"]*"/g, ''));
      const events = await auditTypes(t, account.id);
      expect(events.filter((event) => event.type === 'login.locked')).toHaveLength(1);
      expect(events.at(-1)).toMatchObject({ type: 'login.failed', details: { reason: 'locked' } });

      await new Promise((resolve) => setTimeout(resolve, 2100));
      page = await submitPassword(agent, page, `locked-${backend}`, 'a perfectly fine passphrase');
      expect(page.html).toContain('wants to access your account');
    });

    it('a spray from many addresses locks strangers out but not the browser the user signed in with before', async () => {
      const username = `sprayed-${backend}`;
      const password = 'the real owner knows this one';
      await t.server.services.accounts.create({ username }, password);
      const owner = new UserAgent(t.server.issuer, { 'x-forwarded-for': '198.51.100.7' });
      const first = await startAuthorization(t.config);
      await signIn(owner, first.url, { username, password });

      for (let i = 0; i < 12; i += 1) {
        const attacker = new UserAgent(t.server.issuer, { 'x-forwarded-for': `192.0.2.${i + 1}` });
        const start = await startAuthorization(t.config);
        const page = await attacker.get(start.url.toString());
        expect((await submitPassword(attacker, page, username, `guess number ${i}`)).status).toBe(401);
      }
      // a new browser, even with the right password, waits like everyone else without a device cookie
      const stranger = new UserAgent(t.server.issuer, { 'x-forwarded-for': '198.51.100.99' });
      const strangerStart = await startAuthorization(t.config);
      const refused = await submitPassword(stranger, await stranger.get(strangerStart.url.toString()), username, password);
      expect(refused.status).toBe(401);
      // the owner's browser still gets in: its failures would be counted on its own
      owner.forgetCookies((name) => name.startsWith('_session'));
      const again = await startAuthorization(t.config);
      const page = await owner.get(again.url.toString());
      expect(page.html).toContain('name="password"');
      const done = await submitPassword(owner, page, username, password);
      expect(done.html).not.toContain(WRONG);
    });
  });

  describe('second factor', () => {
    const t = useSeededServer(backend);

    it('a client asking for acr mfa leads a user without TOTP to enrol; the ID token says pwd+otp and mfa', async () => {
      const username = `enrol-${backend}`;
      const password = 'enrolment passphrase here';
      const account = await t.server.services.accounts.create({ username, email: `${username}@example.test` }, password);
      const agent = new UserAgent(t.server.issuer);
      const start = await startAuthorization(t.config, { acr_values: MFA, scope: 'openid' });
      let page = await submitPassword(agent, await agent.get(start.url.toString()), username, password);
      expect(page.url).toMatch(/\/enrol$/);
      const secret = /id="totp-secret">([A-Z2-7 ]+)</.exec(page.html)?.[1]?.replaceAll(' ', '');
      expect(secret).toBeDefined();
      expect(page.html).toContain('<svg');

      const wrong = await submitCode(agent, page, { code: '000000' === (await generate({ secret: secret! })) ? '111111' : '000000' });
      expect(wrong.status).toBe(401);
      page = await submitCode(agent, wrong, { code: await generate({ secret: secret! }) });
      const codes = [...page.html.matchAll(/<li><code>([^<]+)<\/code><\/li>/g)].map((match) => match[1]!);
      expect(codes).toHaveLength(10);
      page = await agent.post(formAction(page.html), { csrf: hiddenField(page.html, 'csrf') });
      if (page.status !== 0) page = await agent.post(formAction(page.html, 1), { csrf: hiddenField(page.html, 'csrf') }); // consent
      expect(page.status).toBe(0);
      const tokens = await exchange(t, start, new URL(page.url));
      const claims = decodeJwt(tokens.id_token!);
      expect(claims.acr).toBe(MFA);
      expect(claims.amr).toEqual(expect.arrayContaining(['pwd', 'otp']));
      expect((await auditTypes(t, account.id)).map((event) => event.type)).toContain('second_factor.enrolled');

      // the next sign-in, in a new browser, asks for the code after the password; a replayed code is refused
      const browser = new UserAgent(t.server.issuer);
      const next = await startAuthorization(t.config, { scope: 'openid' });
      page = await submitPassword(browser, await browser.get(next.url.toString()), username, password);
      expect(page.url).toMatch(/\/totp$/);
      const code = await nextStepCode(secret!);
      const firstUse = await submitCode(browser, page, { code });
      expect(firstUse.status).not.toBe(401);

      const replayer = new UserAgent(t.server.issuer);
      const replay = await startAuthorization(t.config, { scope: 'openid' });
      page = await submitPassword(replayer, await replayer.get(replay.url.toString()), username, password);
      const refused = await submitCode(replayer, page, { code });
      expect(refused.status).toBe(401);
      expect(refused.html).toContain('That code is not right');

      // a recovery code works once; the same code again is refused
      page = await submitCode(replayer, refused, { recovery_code: codes[0]! });
      expect(page.status).not.toBe(401);
      const reuser = new UserAgent(t.server.issuer);
      const reuse = await startAuthorization(t.config, { scope: 'openid' });
      page = await submitPassword(reuser, await reuser.get(reuse.url.toString()), username, password);
      const reused = await submitCode(reuser, page, { recovery_code: codes[0]! });
      expect(reused.status, reused.url + reused.html.slice(0, 1500)).toBe(401);
      const types = (await auditTypes(t, account.id)).map((event) => event.type);
      expect(types).toContain('recovery_code.used');
    });

    it('a password-only session asked for mfa is stepped up with the code alone; plain sign-ins say acr pwd', async () => {
      const username = `stepup-${backend}`;
      const password = 'step up passphrase here';
      const account = await t.server.services.accounts.create({ username }, password);
      const enrolment = await t.server.services.totp.beginEnrolment(account.id, username);
      expect(await t.server.services.totp.confirmEnrolment(account.id, await generate({ secret: enrolment.secret }))).toBe(true);
      await t.server.services.totp.disable(account.id);

      const agent = new UserAgent(t.server.issuer);
      const plain = await startAuthorization(t.config, { scope: 'openid' });
      const callback = await signIn(agent, plain.url, { username, password });
      const plainClaims = decodeJwt((await exchange(t, plain, callback)).id_token!);
      expect(plainClaims).toMatchObject({ acr: PWD, amr: ['pwd'] });

      const again = await t.server.services.totp.beginEnrolment(account.id, username);
      expect(await t.server.services.totp.confirmEnrolment(account.id, await generate({ secret: again.secret }))).toBe(true);
      const stepUp = await startAuthorization(t.config, { scope: 'openid', acr_values: MFA });
      let page = await agent.get(stepUp.url.toString());
      expect(page.url).toMatch(/\/totp$/);
      expect(page.html).not.toContain('name="password"');
      page = await submitCode(agent, page, { code: await nextStepCode(again.secret) });
      if (page.status !== 0) page = await agent.post(formAction(page.html, 1), { csrf: hiddenField(page.html, 'csrf') });
      expect(page.status).toBe(0);
      const claims = decodeJwt((await exchange(t, stepUp, new URL(page.url))).id_token!);
      expect(claims.acr).toBe(MFA);
    });

    it('a second-factor page without a password step before it is refused', async () => {
      const agent = new UserAgent(t.server.issuer);
      const start = await startAuthorization(t.config, { scope: 'openid' });
      const page = await agent.get(start.url.toString());
      const uid = /\/interaction\/([^/]+)\/login/.exec(page.html)?.[1];
      const skipped = await agent.post(`/interaction/${uid}/totp`, { csrf: hiddenField(page.html, 'csrf'), code: '123456' });
      expect(skipped.status).toBe(400);
      const enrolled = await agent.post(`/interaction/${uid}/enrolled`, { csrf: hiddenField(page.html, 'csrf') });
      expect(enrolled.status).toBe(400);
    });
  });

  describe('sign out everywhere', () => {
    const t = useSeededServer(backend);

    it('a session and tokens from before it are refused even when a racing request wrote them back', async () => {
      const username = `survivor-${backend}`;
      const password = 'a passphrase that survives';
      const account = await t.server.services.accounts.create({ username, email: `${username}@example.test` }, password);
      const agent = new UserAgent(t.server.issuer);
      const start = await startAuthorization(t.config);
      const tokens = await exchange(t, start, await signIn(agent, start.url, { username, password }));
      expect((await oidc.fetchUserInfo(t.config, tokens.access_token, account.id)).sub).toBe(account.id);

      // what an engine request in flight during "sign out everywhere" leaves behind: the session
      // row and the tokens still stored, only the account's cut-off moved past them
      await t.server.services.accounts.endSessionsBefore(account.id, new Date((Math.floor(Date.now() / 1000) + 1) * 1000));

      await expect(oidc.fetchUserInfo(t.config, tokens.access_token, account.id)).rejects.toThrow();
      expect((await oidc.tokenIntrospection(t.config, tokens.access_token)).active).toBe(false);
      await expect(oidc.refreshTokenGrant(t.config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
      const again = await agent.get((await startAuthorization(t.config)).url.toString());
      expect(again.html).toContain('name="password"');
    });
  });

  describe('headers and cookies behind a TLS-terminating proxy', () => {
    const state = {} as { server: TestServer; fixture: Fixture };
    beforeAll(async () => {
      state.server = await startTestServer(backend, { POSTERN_ISSUER: 'https://id.example.test', POSTERN_TRUST_PROXY: 'true' });
      state.fixture = await seed(state.server);
    });
    afterAll(() => state.server?.close());
    const https = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'id.example.test' };

    function authorizationUrl(extra: Record<string, string>) {
      const url = new URL('/auth', state.server.url);
      const parameters = { client_id: state.fixture.clientId, redirect_uri: REDIRECT_URI, response_type: 'code', scope: 'openid', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', ...extra };
      for (const [name, value] of Object.entries(parameters)) url.searchParams.set(name, value);
      return url;
    }

    it('the engine can run its form_post script: script-src carries its hash, never unsafe-inline', async () => {
      const response = await fetch(authorizationUrl({ response_mode: 'form_post', prompt: 'none' }), { redirect: 'manual', headers: https });
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(await response.text()).toContain('<script');
      expect(csp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
      expect(csp).not.toContain('unsafe-inline');
    });

    it('cookies are Secure, HttpOnly and SameSite=Lax; HSTS is sent', async () => {
      const response = await fetch(authorizationUrl({}), { redirect: 'manual', headers: https });
      expect(response.headers.get('strict-transport-security')).toContain('max-age=');
      const location = new URL(response.headers.get('location')!, state.server.url);
      const engineCookies = response.headers.getSetCookie();
      const page = await fetch(new URL(location.pathname, state.server.url), {
        headers: { ...https, cookie: engineCookies.map((cookie) => cookie.split(';')[0]).join('; ') },
      });
      expect(page.status).toBe(200);
      const cookies = [...engineCookies, ...page.headers.getSetCookie()];
      expect(cookies.some((cookie) => cookie.startsWith('postern.csrf='))).toBe(true);
      for (const cookie of cookies) {
        expect(cookie.toLowerCase()).toContain('; secure');
        expect(cookie.toLowerCase()).toContain('httponly');
        expect(cookie.toLowerCase()).toContain('samesite=lax');
      }
    });
  });
});
