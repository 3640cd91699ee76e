import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oidc from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { DESKTOP, launchChromium, skipBrowserSuites } from '../support/browser.ts';
import { discover, POST_LOGOUT_REDIRECT_URI, REDIRECT_URI, seed, startAuthorization, type Fixture } from '../support/relying-party.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

/**
 * OpenID Connect Core §3.1.2.1 and RP-Initiated Logout §2: the authorization and end-session
 * endpoints take POST as well as GET. The application's page is on another site (`localhost`,
 * Postern on `127.0.0.1`), so a form it posts reaches Postern cross-site, where the browser
 * does not send the SameSite=Lax session cookie; Postern's 303 turns it into a top-level GET,
 * which does carry it — so the signed-in user is recognised, with or without `prompt=none`.
 */
const backend = availableBackends().at(-1)!;

function escapeHtml(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;');
}

/** An application page holding one form that posts these fields to Postern. */
function formPage(action: string, fields: Record<string, string>, button: string): string {
  const inputs = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('');
  return `<!doctype html><html lang="en"><title>App</title><form method="post" action="${escapeHtml(action)}">${inputs}<button type="submit">${button}</button></form></html>`;
}

describe.skipIf(skipBrowserSuites)(`GET and POST at the authorization and end-session endpoints in Chromium on ${backend}`, () => {
  let browser: Browser;
  let server: TestServer;
  let fixture: Fixture;
  let config: oidc.Configuration;
  let app: Server;
  let appOrigin: string;
  let nextPage = '';
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    browser = await launchChromium();
    server = await startTestServer(backend);
    fixture = await seed(server, { firstParty: true });
    config = await discover(server, fixture);
    app = createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end(nextPage));
    await new Promise<void>((resolve) => app.listen(0, 'localhost', resolve));
    appOrigin = `http://localhost:${(app.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    app?.close();
  });
  beforeEach(async () => {
    context = await browser.newContext({ viewport: DESKTOP });
    page = await context.newPage();
  });
  afterEach(() => context.close());

  /** Clicks and returns the URL the browser is sent to at `destination` (nothing listens there). */
  async function clickThrough(button: string, destination: string): Promise<URL> {
    const leaving = page.waitForRequest((request) => request.url().startsWith(destination) && request.isNavigationRequest());
    // the navigation then fails (nothing listens there) and Chromium shows its error page: wait for
    // that too, or the next goto is interrupted by it
    const left = page.waitForEvent('framenavigated', { predicate: (frame) => frame === page.mainFrame() && !frame.url().startsWith(server.issuer) && !frame.url().startsWith(appOrigin) });
    await page.getByRole('button', { name: button, exact: true }).click();
    const [request] = await Promise.all([leaving, left]);
    return new URL(request.url());
  }

  async function signInWithGet() {
    const start = await startAuthorization(config, { prompt: '' });
    await page.goto(start.url.href);
    await page.getByLabel('Username or email').fill(fixture.username);
    await page.getByLabel('Password').fill(fixture.password);
    const callback = await clickThrough('Sign in', REDIRECT_URI);
    return oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce });
  }

  it('signs in with a GET, then answers a cross-site POST with prompt=none from the same session', async () => {
    await signInWithGet();
    const start = await startAuthorization(config, { prompt: 'none' });
    nextPage = formPage(new URL('/auth', server.issuer).href, Object.fromEntries(start.url.searchParams), 'Continue');
    await page.goto(`${appOrigin}/`);
    const callback = await clickThrough('Continue', REDIRECT_URI);
    expect(callback.searchParams.get('error')).toBeNull();
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce });
    expect(tokens.claims()?.sub).toBe(fixture.accountId);
  });

  it('starts a sign-in with a cross-site POST to /auth', async () => {
    const start = await startAuthorization(config, { prompt: '' });
    nextPage = formPage(new URL('/auth', server.issuer).href, Object.fromEntries(start.url.searchParams), 'Sign in with Postern');
    await page.goto(`${appOrigin}/`);
    await page.getByRole('button', { name: 'Sign in with Postern' }).click();
    await page.waitForLoadState();
    expect(await page.locator('h1').innerText()).toBe('Sign in');
    await page.getByLabel('Username or email').fill(fixture.username);
    await page.getByLabel('Password').fill(fixture.password);
    const callback = await clickThrough('Sign in', REDIRECT_URI);
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce });
    expect(tokens.claims()?.sub).toBe(fixture.accountId);
  });

  it('signs out through a cross-site POST to /session/end as through a GET', async () => {
    const tokens = await signInWithGet();
    nextPage = formPage(new URL('/session/end', server.issuer).href, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI, state: 'posted' }, 'Sign out of App');
    await page.goto(`${appOrigin}/`);
    await page.getByRole('button', { name: 'Sign out of App' }).click();
    await page.waitForLoadState();
    expect(await page.locator('h1').innerText()).toBe('Sign out?');
    const landed = await clickThrough('Sign out', POST_LOGOUT_REDIRECT_URI);
    expect(landed.searchParams.get('state')).toBe('posted');
    // signed out: prompt=none now fails
    const start = await startAuthorization(config, { prompt: 'none' });
    const leaving = page.waitForRequest((request) => request.url().startsWith(REDIRECT_URI));
    await page.goto(start.url.href).catch(() => undefined);
    expect(new URL((await leaving).url()).searchParams.get('error')).toBe('login_required');
  });
});
