import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DESKTOP, launchChromium, skipBrowserSuites, watchPage, type PageWatch } from '../support/browser.ts';
import { PNG_LOGO } from '../support/images.ts';
import { discover, REDIRECT_URI, seed, startAuthorization, type Fixture } from '../support/relying-party.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

describe.skipIf(skipBrowserSuites)('"Not you? Use another account" on the consent page, in Chromium', () => {
  let browser: Browser;
  let server: TestServer;
  let alice: Fixture;
  let bob: Fixture;
  let config: oidc.Configuration;
  let context: BrowserContext;
  let page: Page;
  let watch: PageWatch;

  beforeAll(async () => {
    browser = await launchChromium();
    server = await startTestServer('embedded');
    alice = await seed(server, { username: 'alice' });
    bob = { ...(await seed(server, { username: 'bob' })), clientId: alice.clientId, clientSecret: alice.clientSecret };
    await server.services.clients.update(alice.clientId, { policyUri: 'https://app.example.test/privacy' });
    await server.services.clients.setLogo(alice.clientId, PNG_LOGO, 'image/png');
    config = await discover(server, alice);
  });
  afterAll(async () => {
    await server?.close();
    await browser?.close();
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

  async function submitLogin(user: Fixture) {
    await page.getByLabel('Username or email').fill(user.username);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForLoadState();
  }

  it('leaves the signed-in account and signs in another for the same request: the code and ID token are the other user\'s', async () => {
    const start = await startAuthorization(config);
    await page.goto(start.url.href);
    await submitLogin(alice);
    expect(await heading()).toBe('Example App wants to access your account');
    expect(await page.locator('.lead').innerText()).toBe('Signed in as alice@example.test');
    // the application's logo, drawn from Postern's own origin
    const logo = (await page.evaluate('(() => { const img = document.querySelector("img.client-logo"); return { width: img.complete ? img.naturalWidth : 0, src: img.currentSrc }; })()')) as { width: number; src: string };
    expect(logo.width).toBe(32);
    expect(new URL(logo.src).origin).toBe(server.issuer);

    await page.getByRole('button', { name: 'Not you? Use another account', exact: true }).click();
    await page.waitForLoadState();
    expect(await heading()).toBe('Sign in');
    expect(await page.locator('.lead').innerText()).toBe('to continue to Example App');

    // the engine signs alice out of this browser (its own auto-submitted form), then goes on as bob
    await submitLogin(bob);
    await page.waitForURL((url) => url.href.includes('/interaction/') && !url.href.endsWith('/login'));
    expect(await heading()).toBe('Example App wants to access your account');
    expect(await page.locator('.lead').innerText()).toBe('Signed in as bob@example.test');

    const leaving = page.waitForRequest((request) => request.url().startsWith(REDIRECT_URI) && request.isNavigationRequest());
    const left = page.waitForEvent('framenavigated', { predicate: (frame) => frame === page.mainFrame() && !frame.url().startsWith(server.issuer) });
    await page.getByRole('button', { name: 'Allow', exact: true }).click();
    const [request] = await Promise.all([leaving, left]);
    const callback = new URL(request.url());
    expect(callback.searchParams.get('state')).toBe(start.state);
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce });
    const { payload } = await jwtVerify(tokens.id_token!, createRemoteJWKSet(new URL('/jwks', server.issuer)), { issuer: server.issuer, audience: alice.clientId });
    expect(payload.sub).toBe(bob.accountId);
    expect(payload.sub).not.toBe(alice.accountId);

    // this browser's session is bob's now: alice's ended
    await page.goto((await startAuthorization(config)).url.href);
    expect(await page.locator('.lead').innerText()).toBe('Signed in as bob@example.test');
  });
});
