import * as oidc from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEVICE_CODE_GRANT_TYPE } from '../../src/domain/clients.ts';
import { availableBackends } from '../support/backends.ts';
import { DESKTOP, launchChromium, screenshot, skipBrowserSuites, watchPage, type PageWatch } from '../support/browser.ts';
import { seed, type Fixture } from '../support/relying-party.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

describe.skipIf(skipBrowserSuites)('the device flow pages in Chromium', () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(() => browser?.close());

  describe.each(availableBackends())('on %s', (backend) => {
    let server: TestServer;
    let fixture: Fixture;
    let device: oidc.Configuration;
    let context: BrowserContext;
    let page: Page;
    let watch: PageWatch;

    beforeAll(async () => {
      server = await startTestServer(backend, { POSTERN_DEVICE_FLOW: 'on' });
      fixture = await seed(server);
      const { client } = await server.services.clients.create({ name: 'Living Room TV', type: 'public', grantTypes: [DEVICE_CODE_GRANT_TYPE, 'refresh_token'] });
      device = await oidc.discovery(new URL(server.issuer), client.clientId, undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
    });
    afterAll(() => server?.close());

    beforeEach(async () => {
      // every page of the flow works without script
      context = await browser.newContext({ viewport: DESKTOP, javaScriptEnabled: false });
      page = await context.newPage();
      watch = watchPage(page, server.issuer);
    });

    afterEach(async () => {
      try {
        expect(watch.errors(), 'console errors or CSP violations').toEqual([]);
        for (const document of watch.documents) {
          const csp = document.headers()['content-security-policy'];
          expect(csp, document.url()).toContain("default-src 'none'");
          expect(csp, document.url()).toContain("frame-ancestors 'none'");
        }
      } finally {
        await context.close();
      }
    });

    const heading = () => page.locator('h1').innerText();

    async function click(name: string) {
      await Promise.all([page.waitForNavigation(), page.getByRole('button', { name, exact: true }).click()]);
    }

    async function signInAndAnswer(answer: 'Allow' | 'Deny') {
      expect(await heading()).toBe('Is this your device?');
      await click('Continue');
      expect(await heading()).toBe('Sign in');
      await page.getByLabel('Username or email').fill(fixture.username);
      await page.getByLabel('Password').fill(fixture.password);
      await click('Sign in');
      expect(await heading()).toBe('Living Room TV on your device wants to access your account');
      await screenshot(page, 'device-consent');
      await click(answer);
    }

    it('the user approves from verification_uri_complete; the device polls and gets tokens', async () => {
      const started = await oidc.initiateDeviceAuthorization(device, { scope: 'openid profile offline_access' });
      await page.goto(started.verification_uri_complete!);
      expect(await heading()).toBe('Connect a device');
      expect(await page.getByLabel('Code').inputValue()).toBe(started.user_code);
      await screenshot(page, 'device-code');
      await click('Continue');
      expect(await page.locator('.user-code').innerText()).toBe(started.user_code);
      await screenshot(page, 'device-confirm');
      await signInAndAnswer('Allow');
      expect(await heading()).toBe('Your device is connected');
      await screenshot(page, 'device-connected');

      const tokens = await oidc.pollDeviceAuthorizationGrant(device, started);
      expect(tokens.claims()?.sub).toBe(fixture.accountId);
      expect(tokens.refresh_token).toBeTruthy();
    });

    it('the user types the code in lower case, then denies: the device is told access_denied', async () => {
      const started = await oidc.initiateDeviceAuthorization(device, { scope: 'openid' });
      await page.goto(`${server.issuer}/device`);
      await page.getByLabel('Code').fill('bcdf-ghjk');
      await click('Continue');
      expect(await page.getByRole('alert').innerText()).toContain('That code is not right');
      await page.getByLabel('Code').fill(started.user_code.toLowerCase());
      await click('Continue');
      await signInAndAnswer('Deny');
      expect(await heading()).toBe('Your device was not connected');
      await screenshot(page, 'device-denied');
      await expect(oidc.pollDeviceAuthorizationGrant(device, started)).rejects.toMatchObject({ error: 'access_denied' });
    });
  });
});
