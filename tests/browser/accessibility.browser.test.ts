import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Authenticator } from '../support/authenticator.ts';
import { DESKTOP, launchChromium, screenshot, skipBrowserSuites } from '../support/browser.ts';
import { PNG_LOGO } from '../support/images.ts';
import { extractLink, waitForMail } from '../support/outbox.ts';
import { discover, REDIRECT_URI, seed, startAuthorization, type Fixture } from '../support/relying-party.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

/** axe-core from node_modules, evaluated in the page by the test: Postern never serves it. */
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const WCAG_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];

interface Violation {
  id: string;
  help: string;
  nodes: Array<{ target: string[]; failureSummary?: string }>;
}

/**
 * Every page Postern shows, checked by axe-core (WCAG 2.2 AA and best practice) in light and dark,
 * with an operator's brand (logo, colours, support link) and an application's logo and links on
 * them; each page is also photographed into test-results/screenshots (light, dark, mobile).
 */
describe.skipIf(skipBrowserSuites)('accessibility of every page (axe-core)', () => {
  let browser: Browser;
  let server: TestServer;
  let fixture: Fixture;
  let config: oidc.Configuration;
  let outbox: string;
  let context: BrowserContext;
  let page: Page;
  const checked: string[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
    outbox = await mkdtemp(join(tmpdir(), 'postern-axe-'));
    await writeFile(join(outbox, 'brand-logo.png'), PNG_LOGO);
    server = await startTestServer('embedded', {
      POSTERN_REGISTRATION: 'true',
      POSTERN_MAIL_OUTBOX: outbox,
      POSTERN_RATE_LIMIT_REGISTRATION: 'off',
      POSTERN_RATE_LIMIT_PASSWORD_RESET: 'off',
      POSTERN_BRAND_NAME: 'Acme Accounts',
      POSTERN_BRAND_LOGO: join(outbox, 'brand-logo.png'),
      POSTERN_BRAND_ACCENT: '#0b7285',
      POSTERN_BRAND_ACCENT_DARK: '#fab005',
      POSTERN_BRAND_SUPPORT_URL: 'mailto:help@acme.example.test',
      POSTERN_DEVICE_FLOW: 'on',
    });
    fixture = await seed(server);
    await server.services.clients.update(fixture.clientId, { clientUri: 'https://app.example.test/', policyUri: 'https://app.example.test/privacy', tosUri: 'https://app.example.test/terms' });
    await server.services.clients.setLogo(fixture.clientId, PNG_LOGO, 'image/png');
    config = await discover(server, fixture);
  });
  afterAll(async () => {
    await server?.close();
    await browser?.close();
    await rm(outbox, { recursive: true, force: true });
  });

  beforeEach(async () => {
    context = await browser.newContext({ viewport: DESKTOP });
    page = await context.newPage();
  });
  afterEach(() => context.close());

  const at = (path: string) => new URL(path, server.issuer).href;
  const heading = () => page.locator('h1').innerText();

  /** Runs axe on the page as it is, in light and in dark mode; fails with what it found. */
  async function audit(name: string) {
    for (const colorScheme of ['light', 'dark'] as const) {
      // without motion: colours are measured as they are, not halfway through a transition
      await page.emulateMedia({ colorScheme, reducedMotion: 'reduce' });
      if (!(await page.evaluate('typeof window.axe === "object"'))) await page.evaluate(AXE_SOURCE);
      const violations = (await page.evaluate(`axe.run(document, { runOnly: { type: 'tag', values: ${JSON.stringify(WCAG_AA)} }, resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({ id: v.id, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })) })))`)) as Violation[];
      const found = violations.map((v) => `${v.id} (${v.help}): ${v.nodes.map((n) => `${n.target.join(' ')} — ${n.failureSummary ?? ''}`).join('; ')}`);
      expect(found, `${name} in ${colorScheme} mode`).toEqual([]);
    }
    await page.emulateMedia({ colorScheme: null, reducedMotion: null });
    await screenshot(page, name);
    checked.push(name);
  }

  /** WCAG 1.4.11: a text field's border against the card it sits on, in light and dark mode. */
  async function expectFieldBorderContrast(selector: string) {
    for (const colorScheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme, reducedMotion: 'reduce' });
      const ratio = (await page.evaluate(`(() => {
        const rgb = (text) => text.match(/[\\d.]+/g).slice(0, 3).map(Number);
        const luminance = ([r, g, b]) => [r, g, b].map((c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; }).reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
        const field = document.querySelector(${JSON.stringify(selector)});
        // the resting border: a focused field wears the accent colour instead
        document.activeElement?.blur();
        const border = luminance(rgb(getComputedStyle(field).borderTopColor));
        const card = luminance(rgb(getComputedStyle(field.closest('.card')).backgroundColor));
        return (Math.max(border, card) + 0.05) / (Math.min(border, card) + 0.05);
      })()`)) as number;
      expect(ratio, `${selector} border in ${colorScheme} mode`).toBeGreaterThanOrEqual(3);
    }
    await page.emulateMedia({ colorScheme: null, reducedMotion: null });
  }

  async function press(button: string) {
    await page.getByRole('button', { name: button, exact: true }).click();
    await page.waitForLoadState();
  }

  async function follow(link: string) {
    await page.getByRole('link', { name: link, exact: true }).click();
    await page.waitForLoadState();
  }

  async function login(user: Pick<Fixture, 'username' | 'password'>, password = user.password) {
    await page.getByLabel('Username or email').fill(user.username);
    await page.getByLabel('Password').fill(password);
    await press('Sign in');
  }

  it('sign-in, second factor, enrolment, consent, sign-out and error pages', async () => {
    const user = await seed(server, { username: 'axe-sign-in' });
    const start = await startAuthorization(config, { acr_values: 'urn:postern:acr:mfa' });
    await page.goto(start.url.href);
    expect(await heading()).toBe('Sign in');
    await audit('sign-in');
    await expectFieldBorderContrast('#login');
    await login(user, 'not the password');
    await audit('sign-in with an error');
    await login(user);
    expect(await heading()).toBe('Set up two-step verification');
    await audit('two-step enrolment during sign-in');
    const authenticator = new Authenticator((await page.locator('#totp-secret').innerText()).replaceAll(' ', ''));
    await page.getByLabel('Code', { exact: true }).fill(await authenticator.code());
    await press('Turn on two-step verification');
    await audit('recovery codes during sign-in');
    await press('Continue to Example App');
    expect(await heading()).toBe('Example App wants to access your account');
    await audit('consent');

    await page.goto(at('/session/end'));
    await audit('sign-out question');
    await press('Stay signed in');
    await audit('still signed in');
    await page.goto(at(`/session/end?client_id=${fixture.clientId}`));
    await audit('sign-out question from an application');
    await press('Sign out');
    await audit('signed out');

    await page.goto((await startAuthorization(config)).url.href);
    await login(user);
    expect(await heading()).toBe('Two-step verification');
    await audit('second factor');
    await follow('Use a recovery code instead');
    await audit('recovery code');

    await page.goto((await startAuthorization(config, { redirect_uri: 'https://elsewhere.example.test/cb' })).url.href);
    await audit('engine error');
    await page.goto(at('/interaction/unknown'));
    await audit('sign-in error');
    await page.goto(at('/no/such/page'));
    await audit('404');
  });

  it('account pages and their questions', async () => {
    const user = await seed(server, { username: 'axe-account' });
    await page.goto(at('/account'));
    await login(user);
    await audit('account');
    await page.goto(at('/account/password'));
    await audit('password');
    await page.goto(at('/account/two-step'));
    await audit('two-step off');
    await follow('Set up two-step verification');
    await audit('account two-step enrolment');
    const authenticator = new Authenticator((await page.locator('#totp-secret').innerText()).replaceAll(' ', ''));
    await page.getByLabel('Code', { exact: true }).fill(await authenticator.code());
    await page.getByLabel('Current password').fill(user.password);
    await press('Turn on two-step verification');
    await audit('account recovery codes');
    await follow('I have saved my codes');
    await audit('two-step on');
    await follow('Turn off two-step verification…');
    await audit('turn off two-step question');

    const start = await startAuthorization(config);
    await page.goto(start.url.href);
    const left = page.waitForEvent('framenavigated', { predicate: (frame) => frame === page.mainFrame() && !frame.url().startsWith(server.issuer) });
    await page.getByRole('button', { name: 'Allow', exact: true }).click();
    await left;
    await page.goto(at('/account/applications'));
    await audit('applications');
    await follow('Remove access…');
    await audit('remove access question');

    const elsewhere = await browser.newContext();
    const other = await elsewhere.newPage();
    await other.goto(at('/account'));
    await other.getByLabel('Username or email').fill(user.username);
    await other.getByLabel('Password').fill(user.password);
    await other.getByRole('button', { name: 'Sign in', exact: true }).click();
    await other.waitForLoadState();
    await other.getByLabel('Code from your authenticator app').fill(await authenticator.code());
    await other.getByRole('button', { name: 'Verify', exact: true }).click();
    await other.waitForLoadState();
    await elsewhere.close();

    await page.goto(at('/account/sessions'));
    await audit('sessions');
    await follow('Sign out this device…');
    await audit('sign out a device question');
    await page.goto(at('/account/sessions'));
    await follow('Sign out everywhere…');
    await audit('sign out everywhere question');
    await press('Sign out everywhere');
    await audit('signed out everywhere');
  });

  it('password reset and registration', async () => {
    const user = await seed(server, { username: 'axe-reset' });
    await page.goto(at('/reset'));
    await audit('reset');
    await page.getByLabel('Username or email').fill(user.username);
    const since = new Date();
    await press('Send the link');
    await audit('reset sent');
    const link = extractLink(await waitForMail(outbox, { to: `${user.username}@example.test`, since }), '/reset/complete');
    await page.goto(link);
    await audit('new password');
    await page.getByLabel('New password', { exact: true }).fill('another entirely new passphrase');
    await page.getByLabel('New password again').fill('another entirely new passphrase');
    await press('Change password');
    await audit('reset done');
    await page.goto(link);
    await audit('reset link used');

    await page.goto(at('/register'));
    await audit('register');
    await page.getByLabel('Username').fill('axe-new');
    await page.getByLabel('Email address').fill('axe-new@example.test');
    await page.getByLabel('Password', { exact: true }).fill('a long enough new passphrase');
    await page.getByLabel('Password again').fill('a long enough new passphrase');
    const registered = new Date();
    await press('Create account');
    await audit('register sent');
    await page.goto(extractLink(await waitForMail(outbox, { to: 'axe-new@example.test', since: registered }), '/register/verify'));
    await audit('email confirmed');
    await page.goto(at('/register/verify?token=nothing'));
    await audit('confirmation link unusable');
  });

  it('device flow pages', async () => {
    const user = await seed(server, { username: 'axe-device' });
    const { client } = await server.services.clients.create({ name: 'Axe TV', type: 'public', grantTypes: ['urn:ietf:params:oauth:grant-type:device_code'] });
    const device = await oidc.discovery(new URL(server.issuer), client.clientId, undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
    const started = await oidc.initiateDeviceAuthorization(device, { scope: 'openid email' });
    await page.goto(at('/device'));
    await audit('device code');
    await page.getByLabel('Code').fill('BCDF-GHJK');
    await press('Continue');
    await audit('device code with an error');
    await page.getByLabel('Code').fill(started.user_code);
    await press('Continue');
    await audit('is this your device');
    await press('Continue');
    await login(user);
    expect(await heading()).toBe('Axe TV on your device wants to access your account');
    await audit('device consent');
    await press('Allow');
    await audit('device connected');
    const again = await oidc.initiateDeviceAuthorization(device, { scope: 'openid' });
    await page.goto(again.verification_uri_complete!);
    await press('Continue');
    await press('Cancel');
    expect(await heading()).toBe('Your device was not connected');
    await audit('device not connected');
  });
});
