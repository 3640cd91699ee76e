import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { Authenticator } from '../support/authenticator.ts';
import { DESKTOP, launchChromium, screenshot, skipBrowserSuites, watchPage, type PageWatch } from '../support/browser.ts';
import { discover, REDIRECT_URI, seed, startAuthorization, type Fixture } from '../support/relying-party.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';


describe.skipIf(skipBrowserSuites)('the account pages in Chromium', () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(() => browser?.close());

  describe.each(availableBackends())('on %s', (backend) => {
    let server: TestServer;
    let fixture: Fixture;
    let context: BrowserContext;
    let page: Page;
    let watch: PageWatch;

    beforeAll(async () => {
      server = await startTestServer(backend);
      fixture = await seed(server);
    });
    afterAll(() => server?.close());

    beforeEach(async () => {
      context = await browser.newContext({ viewport: DESKTOP });
      page = await context.newPage();
      watch = watchPage(page, server.issuer);
    });

    afterEach(async () => {
      try {
        expect(watch.errors(), 'console errors or CSP violations').toEqual([]);
        for (const document of watch.documents) {
          const csp = document.headers()['content-security-policy'];
          expect(csp, document.url()).toContain("default-src 'none'");
          expect(csp, document.url()).not.toContain('unsafe-inline');
          if (new URL(document.url()).pathname.startsWith('/account')) expect(document.headers()['cache-control'], document.url()).toBe('no-store');
        }
      } finally {
        await context.close();
      }
    });

    const heading = () => page.locator('h1').innerText();
    const at = (path: string) => new URL(path, server.issuer).href;

    /** The stylesheet arrived and applied: an empty or blocked one leaves no rules. */
    async function expectStyled() {
      expect(await page.evaluate('document.styleSheets.length > 0 ? document.styleSheets[0].cssRules.length : 0')).toBeGreaterThan(10);
    }

    async function show(name: string) {
      await expectStyled();
      await screenshot(page, name);
    }

    async function submitLogin() {
      await page.getByLabel('Username or email').fill(fixture.username);
      await page.getByLabel('Password').fill(fixture.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForLoadState();
    }

    async function follow(link: string) {
      await page.getByRole('link', { name: link, exact: true }).click();
      await page.waitForLoadState();
    }

    async function press(button: string) {
      await page.getByRole('button', { name: button, exact: true }).click();
      await page.waitForLoadState();
    }

    /** An application sign-in in this browser, so that the applications page has something to show. */
    async function allowExampleApp() {
      const start = await startAuthorization(await discover(server, fixture));
      await page.goto(start.url.href);
      expect(await heading()).toBe('Example App wants to access your account');
      const leaving = page.waitForRequest((request) => request.url().startsWith(REDIRECT_URI) && request.isNavigationRequest());
      const left = page.waitForEvent('framenavigated', { predicate: (frame) => frame === page.mainFrame() && !frame.url().startsWith(server.issuer) });
      await page.getByRole('button', { name: 'Allow', exact: true }).click();
      await Promise.all([leaving, left]);
    }

    it('signs in at /account, shows every page, turns on two-step verification and asks for a code at the next sign-in', async () => {
      await page.goto(at('/account'));
      expect(await heading()).toBe('Sign in');
      expect(await page.locator('.lead').innerText()).toContain('Your account');
      await show('account-sign-in');
      await submitLogin();
      expect(new URL(page.url()).pathname).toBe('/account');
      expect(await heading()).toBe('Your account');
      expect(await page.locator('.account-profile').innerText()).toContain('alice@example.test');
      await show('account');

      await follow('Password');
      expect(await heading()).toBe('Change your password');
      // the account name is there for password managers only
      expect(await page.locator('input[name="username"]').isHidden()).toBe(true);
      await page.getByLabel('Current password').fill('not the password');
      await page.getByLabel('New password', { exact: true }).fill('a perfectly new passphrase');
      await page.getByLabel('New password again').fill('a perfectly new passphrase');
      await press('Change password');
      expect(watch.documents.at(-1)?.status()).toBe(401);
      expect(await page.getByRole('alert').innerText()).toBe('That is not your current password.');
      await show('account-password');

      await allowExampleApp();
      await page.goto(at('/account'));
      await follow('Applications with access');
      expect(await page.locator('#applications').innerText()).toContain('Example App');
      await show('account-applications');

      await page.goto(at('/account'));
      await follow('Two-step verification');
      expect(await page.locator('.lead').innerText()).toContain('Off');
      await show('account-two-step-off');
      await follow('Set up two-step verification');
      expect(await heading()).toBe('Set up two-step verification');
      expect(await page.locator('.account-qr svg').count()).toBe(1);
      expect(await page.locator('#totp-link').getAttribute('href')).toMatch(/^otpauth:\/\/totp\/.+secret=[A-Z2-7]+/);
      expect(await page.locator('#totp-secret').innerText()).toMatch(/^(?:[A-Z2-7]{4} )+[A-Z2-7]{1,4}$/);
      await show('account-enrol');
      const authenticator = new Authenticator((await page.locator('#totp-secret').innerText()).replaceAll(' ', ''));
      await page.getByLabel('Code', { exact: true }).fill(await authenticator.code());
      await page.getByLabel('Current password').fill(fixture.password);
      await press('Turn on two-step verification');
      expect(await heading()).toBe('Your recovery codes');
      expect(await page.locator('#recovery-codes li').count()).toBe(10);
      await show('account-recovery-codes');
      await follow('I have saved my codes');
      expect(await page.locator('.lead').innerText()).toContain('On');
      await show('account-two-step');

      // sign out through the engine, then sign in again: now with a code
      await page.goto(at('/account'));
      await follow('Sign out');
      expect(await heading()).toBe('Sign out?');
      await press('Sign out');
      expect(await heading()).toBe('You are signed out');
      await page.goto(at('/account/sessions'));
      expect(await heading()).toBe('Sign in');
      await submitLogin();
      expect(await heading()).toBe('Two-step verification');
      await show('account-sign-in-code');
      await page.getByLabel('Code from your authenticator app').fill(await authenticator.code());
      await press('Verify');
      expect(new URL(page.url()).pathname).toBe('/account/sessions');
      expect(await heading()).toBe('Sessions and devices');
      const current = page.locator('.account-item-current');
      expect(await current.count()).toBe(1);
      expect(await current.innerText()).toContain('This device');
      expect(await current.locator('.account-item-title').innerText()).toMatch(/^Chrome \d+ on Linux/);
      await show('account-sessions');

      await follow('Sign out everywhere…');
      expect(await heading()).toBe('Sign out everywhere?');
      await show('account-confirm');
      await press('Sign out everywhere');
      expect(await heading()).toBe('You are signed out');
      await show('account-signed-out');
      await page.goto(at('/account'));
      expect(await heading()).toBe('Sign in');
    });
  });
});
