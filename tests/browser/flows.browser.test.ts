import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Authenticator } from '../support/authenticator.ts';
import { availableBackends } from '../support/backends.ts';
import { extractLink, waitForMail } from '../support/outbox.ts';
import { DESKTOP, launchChromium, skipBrowserSuites, watchPage, type PageWatch } from '../support/browser.ts';
import { discover, POST_LOGOUT_REDIRECT_URI, REDIRECT_URI, seed, startAuthorization, type Fixture } from '../support/relying-party.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

/** The flows across pages: what sign-out did, error pages, and where each flow ends. */
describe.skipIf(skipBrowserSuites)('page flows in Chromium', () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(() => browser?.close());

  describe.each(availableBackends())('on %s', (backend) => {
    let server: TestServer;
    let fixture: Fixture;
    let config: oidc.Configuration;
    let outbox: string;
    let context: BrowserContext;
    let page: Page;
    let watch: PageWatch;

    beforeAll(async () => {
      outbox = await mkdtemp(join(tmpdir(), 'postern-flows-'));
      server = await startTestServer(backend, { POSTERN_REGISTRATION: 'true', POSTERN_MAIL_OUTBOX: outbox, POSTERN_RATE_LIMIT_REGISTRATION: 'off', POSTERN_RATE_LIMIT_PASSWORD_RESET: 'off' });
      fixture = await seed(server);
      config = await discover(server, fixture);
    });
    afterAll(async () => {
      await server?.close();
      await rm(outbox, { recursive: true, force: true });
    });

    beforeEach(async () => {
      context = await browser.newContext({ viewport: DESKTOP });
      page = await context.newPage();
      watch = watchPage(page, server.issuer);
    });

    afterEach(async () => {
      try {
        expect(watch.errors(), 'console errors or CSP violations').toEqual([]);
      } finally {
        await context.close();
      }
    });

    const heading = () => page.locator('h1').innerText();
    const lead = () => page.locator('.lead').innerText();
    const at = (path: string) => new URL(path, server.issuer).href;

    async function press(button: string) {
      await page.getByRole('button', { name: button, exact: true }).click();
      await page.waitForLoadState();
    }

    async function submitLogin(password = fixture.password) {
      await page.getByLabel('Username or email').fill(fixture.username);
      await page.getByLabel('Password').fill(password);
      await press('Sign in');
    }

    /** Clicks a button whose answer sends the browser to the relying party; returns where it went. */
    async function clickThrough(button: string, destination: string): Promise<URL> {
      const leaving = page.waitForRequest((request) => request.url().startsWith(destination) && request.isNavigationRequest());
      const left = page.waitForEvent('framenavigated', { predicate: (frame) => frame === page.mainFrame() && !frame.url().startsWith(server.issuer) });
      await page.getByRole('button', { name: button, exact: true }).click();
      const [request] = await Promise.all([leaving, left]);
      return new URL(request.url());
    }

    /** Signs in to Example App in this browser; returns the ID token. */
    async function signInToApp(): Promise<string> {
      const start = await startAuthorization(config);
      await page.goto(start.url.href);
      if ((await page.locator('input[name="password"]').count()) > 0) await submitLogin();
      const callback = await clickThrough('Allow', REDIRECT_URI);
      const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce });
      return tokens.id_token!;
    }

    async function stillSignedIn(): Promise<boolean> {
      await page.goto(at('/account'));
      return (await heading()) === 'Your account';
    }

    describe('signing out', () => {
      it('"Stay signed in" says nothing changed, and the session is still there', async () => {
        await signInToApp();
        await page.goto(at('/session/end'));
        expect(await heading()).toBe('Sign out?');
        await press('Stay signed in');
        expect(await heading()).toBe('You are still signed in');
        expect(await page.title()).toBe('You are still signed in · Postern');
        await page.getByRole('link', { name: 'Go to your account' }).click();
        await page.waitForLoadState();
        expect(await heading()).toBe('Your account');
      });

      it('names the application that asked (client_id), and says so after signing out of everything', async () => {
        await signInToApp();
        await page.goto(oidc.buildEndSessionUrl(config, { client_id: fixture.clientId }).href);
        expect(await lead()).toBe('Example App asked to sign you out.');
        await press('Sign out');
        expect(await heading()).toBe('You are signed out');
        expect(await lead()).toContain('signed out of Example App and of Postern');
        expect(await page.getByRole('link', { name: 'Sign in to your account' }).count()).toBe(1);
        expect(await stillSignedIn()).toBe(false);
      });

      it('"Only sign out of" the application keeps the Postern session and says so', async () => {
        await signInToApp();
        await page.goto(oidc.buildEndSessionUrl(config, { client_id: fixture.clientId }).href);
        await press('Only sign out of Example App');
        expect(await heading()).toBe('You are signed out of Example App');
        expect(await lead()).toContain('still signed in to Postern');
        expect(await stillSignedIn()).toBe(true);
      });

      it('goes back to the application\'s post-logout redirect whichever way the user chose', async () => {
        const idToken = await signInToApp();
        await page.goto(oidc.buildEndSessionUrl(config, { id_token_hint: idToken, post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI, state: 'kept' }).href);
        const kept = await clickThrough('Only sign out of Example App', POST_LOGOUT_REDIRECT_URI);
        expect(kept.searchParams.get('state')).toBe('kept');
        expect(await stillSignedIn()).toBe(true);

        const again = await signInToApp();
        await page.goto(oidc.buildEndSessionUrl(config, { id_token_hint: again, post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI, state: 'gone' }).href);
        const gone = await clickThrough('Sign out', POST_LOGOUT_REDIRECT_URI);
        expect(gone.searchParams.get('state')).toBe('gone');
        expect(await stillSignedIn()).toBe(false);
      });
    });

    describe('two-step enrolment', () => {
      it('names the application, links the otpauth URI for phones, groups the key by four, and the grouped key works', async () => {
        const user = await seed(server, { username: `enrol-${backend.replace(/\W/g, '')}` });
        const start = await startAuthorization(config, { acr_values: 'urn:postern:acr:mfa' });
        await page.goto(start.url.href);
        await page.getByLabel('Username or email').fill(user.username);
        await page.getByLabel('Password').fill(user.password);
        await press('Sign in');
        expect(await heading()).toBe('Set up two-step verification');
        expect(await lead()).toBe('Example App asks for two-step verification. Set it up once; after that you are asked for a code from your authenticator app when you sign in.');
        expect(await page.locator('main').innerText()).not.toContain('This application');

        const key = await page.locator('#totp-secret').innerText();
        expect(key).toMatch(/^(?:[A-Z2-7]{4} )+[A-Z2-7]{1,4}$/);
        const secret = key.replaceAll(' ', '');
        const link = new URL((await page.getByRole('link', { name: 'Open it in your authenticator app' }).getAttribute('href'))!);
        expect(link.protocol).toBe('otpauth:');
        expect(link.host).toBe('totp');
        expect(link.searchParams.get('secret')).toBe(secret);

        await page.getByLabel('Code', { exact: true }).fill(await new Authenticator(secret).code());
        await press('Turn on two-step verification');
        expect(await heading()).toBe('Your recovery codes');
        expect(await page.getByRole('button', { name: 'Continue to Example App' }).count()).toBe(1);
      });
    });

    describe('destructive actions ask first, without JavaScript', () => {
      let quiet: BrowserContext;
      let other: BrowserContext;
      let user: Fixture;

      beforeEach(async () => {
        quiet = await browser.newContext({ viewport: DESKTOP, javaScriptEnabled: false });
        other = await browser.newContext({ viewport: DESKTOP });
        page = await quiet.newPage();
        watch = watchPage(page, server.issuer);
        user = await seed(server, { username: `asks-${backend.replace(/\W/g, '')}-${Date.now()}` });
      });
      afterEach(async () => {
        await quiet.close();
        await other.close();
      });

      async function signInAt(target: Page, path: string) {
        await target.goto(at(path));
        await target.getByLabel('Username or email').fill(user.username);
        await target.getByLabel('Password').fill(user.password);
        await target.getByRole('button', { name: 'Sign in', exact: true }).click();
        await target.waitForLoadState();
      }

      async function follow(link: string) {
        await page.getByRole('link', { name: link, exact: true }).click();
        await page.waitForLoadState();
      }

      it('signing out another device and signing out everywhere', async () => {
        await signInAt(await other.newPage(), '/account');
        await signInAt(page, '/account/sessions');
        expect(await page.locator('#sessions > li').count()).toBe(2);

        await follow('Sign out this device…');
        expect(await heading()).toBe('Sign out this device?');
        expect(await lead()).toContain('Chrome');
        await follow('Cancel');
        expect(await heading()).toBe('Sessions and devices');
        expect(await page.locator('#sessions > li').count()).toBe(2);

        await follow('Sign out this device…');
        await press('Sign out this device');
        expect(await page.getByRole('status').innerText()).toBe('That device was signed out.');
        expect(await page.locator('#sessions > li').count()).toBe(1);

        await follow('Sign out everywhere…');
        expect(await heading()).toBe('Sign out everywhere?');
        // the question's form carries this browser's form token
        expect(await page.locator('form input[name="csrf"]').count()).toBe(1);
        await press('Sign out everywhere');
        expect(await heading()).toBe('You are signed out');
      });

      it('removing an application', async () => {
        const start = await startAuthorization(config);
        await page.goto(start.url.href);
        await page.getByLabel('Username or email').fill(user.username);
        await page.getByLabel('Password').fill(user.password);
        await press('Sign in');
        const left = page.waitForEvent('framenavigated', { predicate: (frame) => frame === page.mainFrame() && !frame.url().startsWith(server.issuer) });
        await page.getByRole('button', { name: 'Allow', exact: true }).click();
        await left;

        await page.goto(at('/account/applications'));
        await follow('Remove access…');
        expect(await heading()).toBe('Remove access for Example App?');
        await follow('Cancel');
        expect(await page.locator('#applications').innerText()).toContain('Example App');
        await follow('Remove access…');
        await press('Remove access');
        expect(await page.getByRole('status').innerText()).toBe('Access removed. The application was signed out.');
        expect(await page.locator('#applications').count()).toBe(0);
      });

      it('turning off two-step verification', async () => {
        const enrolment = await server.services.totp.beginEnrolment(user.accountId, user.username);
        const authenticator = new Authenticator(enrolment.secret);
        expect(await server.services.totp.confirmEnrolment(user.accountId, await authenticator.code())).toBe(true);
        await signInAt(page, '/account/two-step');
        await page.getByLabel('Code from your authenticator app').fill(await authenticator.code());
        await press('Verify');
        expect(await heading()).toBe('Two-step verification');

        await follow('Turn off two-step verification…');
        expect(await heading()).toBe('Turn off two-step verification?');
        await page.getByLabel('Current password').fill(user.password);
        await page.getByLabel('Code from your authenticator app, or a recovery code').fill('000000');
        await press('Turn off two-step verification');
        expect(await page.getByRole('alert').innerText()).toContain('code');
        expect(await heading()).toBe('Turn off two-step verification?');
        await page.getByLabel('Current password').fill(user.password);
        await page.getByLabel('Code from your authenticator app, or a recovery code').fill(await authenticator.code());
        await press('Turn off two-step verification');
        expect(await page.getByRole('status').innerText()).toContain('Two-step verification is off');
        expect(await server.services.totp.isEnabled(user.accountId)).toBe(false);
      });
    });

    describe('consent', () => {
      it('is not asked again while signed in, and is asked again after signing out, as the page says', async () => {
        const start = await startAuthorization(config);
        start.url.searchParams.delete('prompt');
        await page.goto(start.url.href);
        await submitLogin();
        expect(await page.locator('.fineprint').innerText()).toBe('If you allow it, Example App will not ask again until you sign out of this browser. You can remove its access at any time under “Applications with access” in your account.');
        await clickThrough('Allow', REDIRECT_URI);

        const again = await startAuthorization(config);
        again.url.searchParams.delete('prompt');
        // straight back to the application, no page in between
        const leaving = page.waitForRequest((request) => request.url().startsWith(REDIRECT_URI) && request.isNavigationRequest());
        const left = page.waitForEvent('framenavigated', { predicate: (frame) => frame === page.mainFrame() && !frame.url().startsWith(server.issuer) });
        page.goto(again.url.href).catch(() => undefined);
        const [request] = await Promise.all([leaving, left]);
        expect(new URL(request.url()).searchParams.get('code')).toBeTruthy();

        await page.goto(at('/session/end'));
        await press('Sign out');
        const third = await startAuthorization(config);
        third.url.searchParams.delete('prompt');
        await page.goto(third.url.href);
        await submitLogin();
        expect(await heading()).toBe('Example App wants to access your account');
      });
    });

    describe('reset and registration keep the sign-in they began from', () => {
      it('a password reset started at an application\'s sign-in ends by continuing to that application', async () => {
        const user = await seed(server, { username: `resetter-${backend.replace(/\W/g, '')}` });
        const start = await startAuthorization(config);
        await page.goto(start.url.href);
        await page.getByRole('link', { name: 'Forgot your password?' }).click();
        await page.waitForLoadState();
        expect(await heading()).toBe('Reset your password');
        expect(await page.getByRole('link', { name: 'Back to sign in to Example App' }).count()).toBe(1);
        await page.getByLabel('Username or email').fill(user.username);
        const since = new Date();
        await press('Send the link');
        expect(await page.getByRole('link', { name: 'Back to sign in to Example App' }).count()).toBe(1);

        // the mailed link, opened later in the same browser
        await page.goto(extractLink(await waitForMail(outbox, { to: `${user.username}@example.test`, since }), '/reset/complete'));
        await page.getByLabel('New password', { exact: true }).fill('a brand new passphrase here');
        await page.getByLabel('New password again').fill('a brand new passphrase here');
        await press('Change password');
        expect(await heading()).toBe('Your password has been changed');
        await page.getByRole('link', { name: 'Sign in to continue to Example App' }).click();
        await page.waitForLoadState();
        expect(await heading()).toBe('Sign in');
        await page.getByLabel('Username or email').fill(user.username);
        await page.getByLabel('Password').fill('a brand new passphrase here');
        await press('Sign in');
        expect(await heading()).toBe('Example App wants to access your account');
        const callback = await clickThrough('Allow', REDIRECT_URI);
        expect(callback.searchParams.get('state')).toBe(start.state);
      });

      it('a registration started at an application\'s sign-in leads back to it; without one, to the account', async () => {
        const start = await startAuthorization(config);
        await page.goto(start.url.href);
        await page.getByRole('link', { name: 'Create an account' }).click();
        await page.waitForLoadState();
        const username = `newcomer-${backend.replace(/\W/g, '')}`;
        await page.getByLabel('Username').fill(username);
        await page.getByLabel('Email address').fill(`${username}@example.test`);
        await page.getByLabel('Password', { exact: true }).fill('a long enough new passphrase');
        await page.getByLabel('Password again').fill('a long enough new passphrase');
        const since = new Date();
        await press('Create account');
        expect(await heading()).toBe('Check your email');
        const verify = extractLink(await waitForMail(outbox, { to: `${username}@example.test`, since }), '/register/verify');
        await page.goto(verify);
        expect(await heading()).toBe('Email address confirmed');
        await page.getByRole('link', { name: 'Continue to Example App' }).click();
        await page.waitForLoadState();
        expect(await heading()).toBe('Sign in');
        await page.getByLabel('Username or email').fill(username);
        await page.getByLabel('Password').fill('a long enough new passphrase');
        await press('Sign in');
        expect(await heading()).toBe('Example App wants to access your account');

        // another browser, no sign-in behind it: every end page still leads on
        const fresh = await browser.newContext();
        const elsewhere = await fresh.newPage();
        await elsewhere.goto(verify);
        expect(await elsewhere.locator('h1').innerText()).toBe('This link cannot be used');
        expect(await elsewhere.getByRole('link', { name: 'Sign in to your account' }).getAttribute('href')).toBe('/account');
        await elsewhere.goto(at('/reset'));
        expect(await elsewhere.getByRole('link', { name: 'Back to sign in' }).getAttribute('href')).toBe('/account');
        // a return that is no live sign-in, or not an interaction id at all, leads nowhere but the account
        for (const given of ['no-such-sign-in-here', 'https://evil.example.test/', '../../account/sessions/end-all']) {
          await elsewhere.goto(at(`/reset?return=${encodeURIComponent(given)}`));
          const links = await elsewhere.locator('main a').evaluateAll((anchors) => anchors.map((anchor) => anchor.getAttribute('href')));
          expect(links, given).toEqual(['/account']);
        }
        await fresh.close();
      });
    });

    describe('error pages', () => {
      it('words an unregistered redirect URI plainly, names the application and never links to that URI', async () => {
        const start = await startAuthorization(config, { redirect_uri: 'https://evil.example.test/steal' });
        const response = await page.goto(start.url.href);
        expect(response?.status()).toBe(400);
        expect(await heading()).toBe('Something went wrong');
        expect(await lead()).toBe('The application sent you here with a return address it has not registered with Postern, so Postern will not send you back through it.');
        const text = await page.locator('main').innerText();
        expect(text).toContain('Go back to Example App and try again.');
        // the engine's wording only under the developers' details, and no way to the unregistered address
        expect(await page.locator('.lead').innerText()).not.toContain('redirect_uri');
        expect(await page.locator('details').innerText()).toContain('Details for the application’s developers');
        expect(await page.locator('a[href*="evil.example.test"]').count()).toBe(0);
        expect(await page.content()).not.toContain('evil.example.test');
      });

      it('says each instruction once', async () => {
        await page.goto(at('/interaction/unknown-uid'));
        const main = await page.locator('main').innerText();
        expect(main).toContain('Start again from the application');
        expect(main).not.toContain('Go back to the application you came from');
        expect(main.match(/application/g)?.length).toBeLessThanOrEqual(2);
      });

      it('shows a styled 404 with a language and a title', async () => {
        const response = await page.goto(at('/no/such/page'));
        expect(response?.status()).toBe(404);
        expect(await page.locator('html').getAttribute('lang')).toBe('en');
        expect(await page.title()).toBe('Page not found · Postern');
        expect(await heading()).toBe('Page not found');
        expect(await page.evaluate('document.styleSheets[0].cssRules.length')).toBeGreaterThan(10);
        expect(await page.getByRole('link', { name: 'your account' }).getAttribute('href')).toBe('/account');
      });
    });
  });
});
