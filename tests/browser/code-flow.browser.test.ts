import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { DESKTOP, launchChromium, screenshot, skipBrowserSuites, watchPage, type PageWatch } from '../support/browser.ts';
import { discover, POST_LOGOUT_REDIRECT_URI, REDIRECT_URI, seed, startAuthorization, type AuthorizationStart, type Fixture } from '../support/relying-party.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

describe.skipIf(skipBrowserSuites)('the sign-in pages in Chromium', () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(() => browser?.close());

  describe.each(availableBackends())('on %s', (backend) => {
    let server: TestServer;
    let fixture: Fixture;
    let config: oidc.Configuration;
    let context: BrowserContext;
    let page: Page;
    let watch: PageWatch;

    beforeAll(async () => {
      server = await startTestServer(backend);
      fixture = await seed(server);
      config = await discover(server, fixture);
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
        expect(watch.documents.length).toBeGreaterThan(0);
        for (const document of watch.documents) {
          const csp = document.headers()['content-security-policy'];
          expect(csp, document.url()).toContain("default-src 'none'");
          expect(csp, document.url()).toContain("frame-ancestors 'none'");
        }
      } finally {
        await context.close();
      }
    });

    async function heading(): Promise<string> {
      return page.locator('h1').innerText();
    }

    /** The stylesheet arrived and applied: an empty or blocked one leaves no rules. */
    async function expectStyled() {
      expect(await page.evaluate('document.styleSheets.length > 0 ? document.styleSheets[0].cssRules.length : 0')).toBeGreaterThan(10);
    }

    async function submitLogin(login: string, password: string) {
      await page.getByLabel('Username or email').fill(login);
      await page.getByLabel('Password').fill(password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForLoadState();
    }

    /**
     * Clicks a button that ends at the relying party and returns the URL the browser was sent to.
     * Nothing listens there, and playwright cannot route a request reached through a redirect
     * ("The handler will only be called for the first url if the response is a redirect"), so the
     * request is captured as it leaves; the navigation then fails and Chromium shows its error page.
     */
    async function clickThrough(button: string, destination: string): Promise<URL> {
      const leaving = page.waitForRequest((request) => request.url().startsWith(destination) && request.isNavigationRequest());
      const left = page.waitForEvent('framenavigated', { predicate: (frame) => frame === page.mainFrame() && !frame.url().startsWith(server.issuer) });
      await page.getByRole('button', { name: button, exact: true }).click();
      const [request] = await Promise.all([leaving, left]);
      return new URL(request.url());
    }

    /** Login (when asked) and Allow on the consent page; returns the callback URL. */
    async function signIn(start: AuthorizationStart, clientName = 'Example App'): Promise<URL> {
      await page.goto(start.url.href);
      if ((await page.locator('input[name="password"]').count()) > 0) await submitLogin(fixture.username, fixture.password);
      expect(await heading()).toBe(`${clientName} wants to access your account`);
      return clickThrough('Allow', REDIRECT_URI);
    }

    async function exchange(clientConfig: oidc.Configuration, start: AuthorizationStart, callback: URL) {
      return oidc.authorizationCodeGrant(clientConfig, callback, { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce });
    }

    async function verifyIdToken(idToken: string | undefined, audience: string) {
      expect(idToken).toBeTypeOf('string');
      const jwks = createRemoteJWKSet(new URL('/jwks', server.issuer));
      return jwtVerify(idToken!, jwks, { issuer: server.issuer, audience, algorithms: ['RS256'] });
    }

    it('signs in through the login and consent pages; the ID token verifies against /jwks', async () => {
      const start = await startAuthorization(config, { scope: 'openid profile email offline_access read write' });
      const login = await page.goto(start.url.href);
      expect(login?.status()).toBe(200);
      expect(await heading()).toBe('Sign in');
      expect(await page.locator('html').getAttribute('lang')).toBe('en');
      await expectStyled();
      await screenshot(page, 'login');

      await submitLogin(fixture.username, fixture.password);
      expect(await heading()).toBe('Example App wants to access your account');
      const permissions = await page.locator('.permissions').innerText();
      expect(permissions).toContain('Your email address');
      expect(permissions).toContain('Example API');
      expect(permissions).toContain('Change your data');
      await expectStyled();
      await screenshot(page, 'consent');

      const callback = await clickThrough('Allow', REDIRECT_URI);
      expect(callback.searchParams.get('code')).toBeTruthy();
      expect(callback.searchParams.get('iss')).toBe(server.issuer);
      const tokens = await exchange(config, start, callback);
      const { payload, protectedHeader } = await verifyIdToken(tokens.id_token, fixture.clientId);
      expect(protectedHeader.alg).toBe('RS256');
      expect(payload.sub).toBe(fixture.accountId);
      expect(payload.nonce).toBe(start.nonce);
    });

    it('shows the same error for a wrong password and for an unknown user, and still signs in afterwards', async () => {
      const start = await startAuthorization(config);
      await page.goto(start.url.href);

      await submitLogin(fixture.username, 'not the password');
      expect(watch.documents.at(-1)?.status()).toBe(401);
      expect(await heading()).toBe('Sign in');
      const wrongPassword = await page.getByRole('alert').innerText();
      expect(wrongPassword.length).toBeGreaterThan(0);
      expect(await page.getByLabel('Username or email').inputValue()).toBe(fixture.username);
      expect(await page.getByLabel('Password').inputValue()).toBe('');
      await expectStyled();
      await screenshot(page, 'login-error');

      await submitLogin('nobody-by-this-name', 'not the password');
      expect(watch.documents.at(-1)?.status()).toBe(401);
      expect(await page.getByRole('alert').innerText()).toBe(wrongPassword);

      // Enter in the password field submits: the form needs no JavaScript
      await page.getByLabel('Username or email').fill(fixture.username);
      await page.getByLabel('Password').fill(fixture.password);
      await page.getByLabel('Password').press('Enter');
      await page.waitForLoadState();
      expect(await heading()).toBe('Example App wants to access your account');
    });

    it('returns access_denied to the application when the user clicks Deny', async () => {
      const start = await startAuthorization(config);
      await page.goto(start.url.href);
      await submitLogin(fixture.username, fixture.password);
      const callback = await clickThrough('Deny', REDIRECT_URI);
      expect(callback.searchParams.get('error')).toBe('access_denied');
      expect(callback.searchParams.get('state')).toBe(start.state);
      expect(callback.searchParams.has('code')).toBe(false);
    });

    it('signs in to a second application with the same browser session, asking only for consent', async () => {
      await signIn(await startAuthorization(config));

      const second = await seed(server, { clientName: 'Second App' });
      const secondConfig = await discover(server, second);
      const start = await startAuthorization(secondConfig);
      await page.goto(start.url.href);
      expect(await page.locator('input[name="password"]').count()).toBe(0);
      expect(await heading()).toBe('Second App wants to access your account');
      const callback = await clickThrough('Allow', REDIRECT_URI);

      const tokens = await exchange(secondConfig, start, callback);
      const { payload } = await verifyIdToken(tokens.id_token, second.clientId);
      expect(payload.sub).toBe(fixture.accountId);
    });

    it('asks before signing out and then returns to the post-logout redirect URI', async () => {
      const start = await startAuthorization(config);
      const tokens = await exchange(config, start, await signIn(start));
      const endSession = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI, state: 'bye' });

      await page.goto(endSession.href);
      expect(await heading()).toBe('Sign out?');
      expect(await page.locator('.lead').innerText()).toContain('Example App');
      await expectStyled();
      await screenshot(page, 'logout');

      const landed = await clickThrough('Sign out', POST_LOGOUT_REDIRECT_URI);
      expect(landed.searchParams.get('state')).toBe('bye');

      // the session is gone: a new authorization asks for the password again
      await page.goto((await startAuthorization(config)).url.href);
      expect(await heading()).toBe('Sign in');
    });

    it('shows the signed-out page when the application gives no return address', async () => {
      await signIn(await startAuthorization(config));
      await page.goto(oidc.buildEndSessionUrl(config, { client_id: fixture.clientId }).href);
      expect(await heading()).toBe('Sign out?');
      await page.getByRole('button', { name: 'Sign out', exact: true }).click();
      await page.waitForLoadState();
      expect(await heading()).toBe('You are signed out');
      await expectStyled();
      await screenshot(page, 'logged-out');
    });

    it('shows the error page for an interaction this browser does not have', async () => {
      const response = await page.goto(new URL('/interaction/unknown-uid', server.issuer).href);
      expect(response?.status()).toBeGreaterThanOrEqual(400);
      expect(response?.status()).toBeLessThan(500);
      expect(await heading()).toBe('Something went wrong');
      await expectStyled();
      await screenshot(page, 'error');
    });
  });
});
