import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as oidc from 'openid-client';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { DESKTOP, launchChromium, screenshot, skipBrowserSuites, watchPage, type PageWatch } from '../support/browser.ts';
import { discover, REDIRECT_URI, seed, startAuthorization, type AuthorizationStart, type Fixture } from '../support/relying-party.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const PHR = 'urn:postern:acr:phr';
/** axe-core from node_modules, evaluated in the page by the test, as in the accessibility suite */
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const WCAG_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];

/**
 * Passkeys through Chromium's virtual authenticator (the DevTools protocol's WebAuthn domain): a
 * platform authenticator (ctap2, internal) holding discoverable credentials, verifying its user.
 */
describe.skipIf(skipBrowserSuites)('passkeys in Chromium', () => {
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
    let cdp: CDPSession;
    let authenticatorId: string;

    beforeAll(async () => {
      server = await startTestServer(backend, {}, undefined, { hostname: 'localhost' });
      fixture = await seed(server);
      config = await discover(server, fixture);
    });
    afterAll(() => server?.close());

    beforeEach(async () => {
      // each test its own user, so that their passkeys never meet
      fixture = await seed(server, { username: `user${Math.random().toString(36).slice(2, 10)}` });
      config = await discover(server, fixture);
      context = await browser.newContext({ viewport: DESKTOP });
      page = await context.newPage();
      watch = watchPage(page, server.issuer);
      cdp = await context.newCDPSession(page);
      await cdp.send('WebAuthn.enable', { enableUI: false });
      ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
        options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
      }));
    });

    afterEach(async () => {
      try {
        expect(watch.errors(), 'console errors or CSP violations').toEqual([]);
        for (const document of watch.documents) {
          const csp = document.headers()['content-security-policy'];
          expect(csp, document.url()).toContain("script-src 'self'");
          expect(csp, document.url()).not.toContain('unsafe-inline');
        }
      } finally {
        await context.close();
      }
    });

    const heading = () => page.locator('h1').innerText();
    const at = (path: string) => new URL(path, server.issuer).href;

    async function press(button: string) {
      await page.getByRole('button', { name: button, exact: true }).click();
      await page.waitForLoadState();
    }

    async function passwordSignIn() {
      await page.getByLabel('Username or email').fill(fixture.username);
      await page.getByLabel('Password').fill(fixture.password);
      await press('Sign in');
    }

    /** Presses a button whose form the passkey script submits, and waits for the page that answers. */
    async function ceremony(button: string) {
      const answered = page.waitForResponse((response) => response.request().method() === 'POST' && response.request().isNavigationRequest());
      await page.getByRole('button', { name: button, exact: true }).click();
      await answered;
      await page.waitForLoadState();
    }

    async function addPasskey(name: string) {
      await page.goto(at('/account/passkeys'));
      if ((await heading()) === 'Sign in') await passwordSignIn();
      expect(await heading()).toBe('Passkeys');
      await page.getByLabel('Name').fill(name);
      await page.getByLabel('Current password').fill(fixture.password);
      await ceremony('Add a passkey');
      expect(await page.getByRole('status').innerText()).toBe('Passkey added. You can now sign in with it.');
      expect(await page.locator('.passkey-list').innerText()).toContain(name);
    }

    /** After `act` signs in: the consent page (prompt=consent), then the code exchange at the relying party. */
    async function awaitCallback(start: AuthorizationStart, act: () => Promise<void>) {
      await act();
      await page.locator('h1', { hasText: 'wants to access your account' }).waitFor();
      const leaving = page.waitForRequest((request) => request.url().startsWith(REDIRECT_URI) && request.isNavigationRequest());
      // nothing listens at the relying party: Chromium's error page ends the navigation
      const left = page.waitForEvent('framenavigated', { predicate: (frame) => frame === page.mainFrame() && !frame.url().startsWith(server.issuer) });
      await page.getByRole('button', { name: 'Allow', exact: true }).click();
      const [request] = await Promise.all([leaving, left]);
      const callback = new URL(request.url());
      const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce });
      return tokens.claims()!;
    }

    /** axe-core (WCAG 2.2 AA) on the page as shown, passkey forms revealed, light and dark; once, on the embedded tier. */
    async function accessible(name: string) {
      if (backend !== 'embedded') return;
      for (const colorScheme of ['light', 'dark'] as const) {
        await page.emulateMedia({ colorScheme, reducedMotion: 'reduce' });
        if (!(await page.evaluate('typeof window.axe === "object"'))) await page.evaluate(AXE_SOURCE);
        const found = (await page.evaluate(`axe.run(document, { runOnly: { type: 'tag', values: ${JSON.stringify(WCAG_AA)} }, resultTypes: ['violations'] }).then((r) => r.violations.map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ') + ' ' + n.failureSummary).join('; ')))`)) as string[];
        expect(found, `${name} in ${colorScheme} mode`).toEqual([]);
      }
      await page.emulateMedia({ colorScheme: null, reducedMotion: null });
    }

    async function auditTypes(): Promise<string[]> {
      return (await server.services.audit.page({ accountId: fixture.accountId }, { limit: 100 })).map((event) => event.type);
    }

    it('adds a passkey on /account after a password sign-in, then signs in with it alone: acr phr, amr pop hwk user mfa', async () => {
      await page.goto(at('/account'));
      await passwordSignIn();
      expect(await heading()).toBe('Your account');
      // the offer after a password sign-in, skippable by simply not following it
      await page.getByRole('link', { name: 'Sign in without your password next time: add a passkey.' }).click();
      await page.waitForLoadState();
      expect(await heading()).toBe('Passkeys');
      expect(await page.getByText('You have no passkeys yet.').isVisible()).toBe(true);
      await screenshot(page, 'account-passkeys-empty');
      await addPasskey('Work laptop');
      expect(await page.locator('.passkey-list').innerText()).toContain('not used yet');
      await screenshot(page, 'account-passkeys');
      await accessible('account passkeys');
      expect(await auditTypes()).toContain('passkey.registered');
      const stored = await server.services.passkeys.list(fixture.accountId);
      expect(stored).toHaveLength(1);
      expect(stored[0]!.name).toBe('Work laptop');

      // the application asks for a new sign-in: only the authenticator names the account. The
      // browser offers the passkey in the username field's autofill (conditional mediation); the
      // virtual authenticator accepts at once, so nothing is typed and no button pressed
      const start = await startAuthorization(config, { prompt: 'login consent' });
      const claims = await awaitCallback(start, async () => {
        await page.goto(start.url.href);
      });
      expect(claims.sub).toBe(fixture.accountId);
      expect(claims.acr).toBe(PHR);
      expect(claims.amr).toEqual(['pop', 'hwk', 'user', 'mfa']);
      expect((await server.services.passkeys.list(fixture.accountId))[0]!.lastUsedAt).not.toBeNull();
      expect(await auditTypes()).toContain('login.succeeded');
    });

    it('offers a passkey after a password sign-in to an application, adds it there, and offers no more', async () => {
      const start = await startAuthorization(config);
      await page.goto(start.url.href);
      await passwordSignIn();
      expect(await heading()).toBe('Sign in faster next time');
      await screenshot(page, 'passkey-offer');
      await accessible('passkey offer');
      await page.getByLabel('Name').fill('Phone');
      const claims = await awaitCallback(start, () => page.getByRole('button', { name: 'Add a passkey', exact: true }).click());
      expect(claims.acr).toBe('urn:postern:acr:pwd');
      expect((await server.services.passkeys.list(fixture.accountId)).map((passkey) => passkey.name)).toEqual(['Phone']);
      const events = await server.services.audit.page({ accountId: fixture.accountId, type: 'passkey.registered' }, { limit: 5 });
      expect(events[0]?.details.during).toBe('sign_in');
      // the next sign-in, with the password again: straight on
      await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: false });
      const again = await startAuthorization(config, { prompt: 'login consent' });
      await page.goto(again.url.href);
      await awaitCallback(again, () => passwordSignIn());
    });

    it('signs in with the passkey button when the autofill is not taken, and shows it on the sign-in page', async () => {
      await addPasskey('Phone');
      // the authenticator waits for a touch: the autofill request stays open
      await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: false });
      const start = await startAuthorization(config, { prompt: 'login consent' });
      await page.goto(start.url.href);
      expect(await heading()).toBe('Sign in');
      expect(await page.locator('#login').getAttribute('autocomplete')).toBe('username webauthn');
      expect(await page.getByRole('button', { name: 'Sign in with a passkey' }).isVisible()).toBe(true);
      await screenshot(page, 'sign-in-passkey');
      await accessible('sign-in with the passkey button');
      await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: true });
      const claims = await awaitCallback(start, () => page.getByRole('button', { name: 'Sign in with a passkey', exact: true }).click());
      expect(claims.acr).toBe(PHR);
      expect(claims.amr).toContain('pop');
    });

    it('confirms a password sign-in with a passkey as second factor when the client asks for mfa, and steps up to phr', async () => {
      await addPasskey('Laptop');
      await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: false });
      const start = await startAuthorization(config, { prompt: 'login consent', acr_values: 'urn:postern:acr:mfa' });
      await page.goto(start.url.href);
      await passwordSignIn();
      expect(await heading()).toBe('Confirm with a passkey');
      await screenshot(page, 'passkey-step');
      await accessible('passkey step');
      await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: true });
      const claims = await awaitCallback(start, () => page.getByRole('button', { name: 'Use a passkey', exact: true }).click());
      expect(claims.acr).toBe(PHR);
      expect(claims.amr).toEqual(['pwd', 'pop', 'hwk', 'user', 'mfa']);

      // a password-only session, then a client that demands a phishing-resistant sign-in
      await context.clearCookies();
      await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: false });
      const plain = await startAuthorization(config, { prompt: 'login consent' });
      await page.goto(plain.url.href);
      const first = await awaitCallback(plain, () => passwordSignIn());
      expect(first.acr).toBe('urn:postern:acr:pwd');
      const stepUp = await startAuthorization(config, { acr_values: PHR });
      await page.goto(stepUp.url.href);
      expect(await heading()).toBe('Confirm with a passkey');
      // the app's codes are not offered: they are not phishing-resistant
      expect(await page.getByRole('link', { name: /authenticator app/ }).count()).toBe(0);
      await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: true });
      const stepped = await awaitCallback(stepUp, () => page.getByRole('button', { name: 'Use a passkey', exact: true }).click());
      expect(stepped.sub).toBe(fixture.accountId);
      expect(stepped.acr).toBe(PHR);
    });

    it('refuses a cloned authenticator whose counter went back, and audits it', async () => {
      await addPasskey('Key');
      await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: false });
      // one sign-in moves the stored counter past zero
      const start = await startAuthorization(config, { prompt: 'login consent', acr_values: 'urn:postern:acr:mfa' });
      await page.goto(start.url.href);
      await passwordSignIn();
      await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: true });
      await awaitCallback(start, () => page.getByRole('button', { name: 'Use a passkey', exact: true }).click());
      const counted = Number((await server.storage.db('passkeys').where({ account_id: fixture.accountId }).first('counter')).counter);
      expect(counted).toBeGreaterThan(0);

      // the same key on a second authenticator, its counter behind: a copy
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      expect(credentials).toHaveLength(1);
      // Chromium holds one internal authenticator at a time: the original goes, its copy comes
      await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
      const { authenticatorId: clone } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
        options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
      });
      await cdp.send('WebAuthn.addCredential', { authenticatorId: clone, credential: { ...credentials[0]!, signCount: 0 } });
      const again = await startAuthorization(config, { prompt: 'login consent' });
      const refused = page.waitForResponse((response) => response.request().method() === 'POST' && response.url().endsWith('/passkey'));
      await page.goto(again.url.href);
      expect((await refused).status()).toBe(401);
      await page.waitForLoadState();
      expect(await heading()).toBe('Sign in');
      expect(await page.getByRole('alert').first().innerText()).toContain('it looks copied from another device');
      expect(await auditTypes()).toContain('passkey.clone_suspected');
      const failed = (await server.services.audit.page({ accountId: fixture.accountId, type: 'login.failed' }, { limit: 10 }))[0];
      expect(failed?.details.reason).toBe('passkey_counter_regressed');
    });

    it('removes a passkey after asking, without JavaScript', async () => {
      await addPasskey('Old phone');
      await page.getByRole('link', { name: 'Remove… Old phone' }).click();
      await page.waitForLoadState();
      expect(await heading()).toBe('Remove the passkey “Old phone”?');
      await screenshot(page, 'account-passkey-remove');
      await accessible('remove passkey question');
      await press('Remove passkey');
      expect(await page.getByRole('status').innerText()).toBe('Passkey removed.');
      expect(await page.getByText('You have no passkeys yet.').isVisible()).toBe(true);
      expect(await server.services.passkeys.list(fixture.accountId)).toEqual([]);
      expect(await auditTypes()).toContain('passkey.removed');
    });
  });

  describe('with JavaScript off', () => {
    let server: TestServer;
    let fixture: Fixture;

    beforeAll(async () => {
      server = await startTestServer('embedded', {}, undefined, { hostname: 'localhost' });
      fixture = await seed(server);
    });
    afterAll(() => server?.close());

    it('signs in with the password; the passkey button is absent and the account page explains', async () => {
      const context = await browser.newContext({ viewport: DESKTOP, javaScriptEnabled: false });
      try {
        const page = await context.newPage();
        const config = await discover(server, fixture);
        const start = await startAuthorization(config);
        await page.goto(start.url.href);
        expect(await page.locator('h1').innerText()).toBe('Sign in');
        expect(await page.getByRole('button', { name: 'Sign in with a passkey' }).isVisible()).toBe(false);
        await page.getByLabel('Username or email').fill(fixture.username);
        await page.getByLabel('Password').fill(fixture.password);
        await page.getByRole('button', { name: 'Sign in', exact: true }).click();
        await page.waitForLoadState();
        // the offer of a passkey: only its way on works without JavaScript
        expect(await page.locator('h1').innerText()).toBe('Sign in faster next time');
        expect(await page.getByRole('button', { name: 'Add a passkey' }).isVisible()).toBe(false);
        expect(await page.getByText('Adding a passkey needs JavaScript').isVisible()).toBe(true);
        await page.getByRole('button', { name: 'Not now, continue to Example App', exact: true }).click();
        await page.waitForLoadState();
        expect(await page.locator('h1').innerText()).toContain('wants to access your account');
        await page.goto(new URL('/account/passkeys', server.issuer).href);
        expect(await page.locator('h1').innerText()).toBe('Passkeys');
        expect(await page.getByText('Adding a passkey needs JavaScript').isVisible()).toBe(true);
        expect(await page.getByRole('button', { name: 'Add a passkey' }).isVisible()).toBe(false);
      } finally {
        await context.close();
      }
    });
  });
});
