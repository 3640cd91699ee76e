import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type * as oidc from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { translatorFor } from '../../src/pages/language/translator.ts';
import { DESKTOP, launchChromium, SCREENSHOT_DIR, skipBrowserSuites, watchPage, type PageWatch } from '../support/browser.ts';
import { discover, seed, startAuthorization, type Fixture } from '../support/relying-party.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

/** What each language calls the sign-in page, written out here rather than read from the catalogs. */
const SIGN_IN = { en: 'Sign in', de: 'Anmelden', fr: 'Se connecter', es: 'Iniciar sesión' } as const;
const ALLOW = { en: 'Allow', de: 'Erlauben', fr: 'Autoriser', es: 'Permitir' } as const;
type Language = keyof typeof SIGN_IN;
const LANGUAGES = Object.keys(SIGN_IN) as Language[];

/** Sign-in and consent in each language, chosen by the application (ui_locales) and by the person (the switcher). */
describe.skipIf(skipBrowserSuites)('the pages in each language, in Chromium', () => {
  let browser: Browser;
  let server: TestServer;
  let fixture: Fixture;
  let config: oidc.Configuration;
  let context: BrowserContext;
  let page: Page;
  let watch: PageWatch;

  beforeAll(async () => {
    browser = await launchChromium();
    server = await startTestServer('embedded');
    fixture = await seed(server, { clientName: 'Example App' });
    config = await discover(server, fixture);
    await mkdir(SCREENSHOT_DIR, { recursive: true });
  });
  afterAll(async () => {
    await server?.close();
    await browser?.close();
  });

  beforeEach(async () => {
    // the browser's own preference is English: every other language below is chosen on purpose
    context = await browser.newContext({ viewport: DESKTOP, locale: 'en-US' });
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

  async function expectLanguage(language: Language) {
    expect(await page.locator('html').getAttribute('lang')).toBe(language);
    const document = watch.documents.at(-1)!;
    expect(await document.headerValue('content-language')).toBe(language);
  }

  async function signInThenConsent(language: Language, screenshots: boolean) {
    await expectLanguage(language);
    expect(await page.locator('h1').innerText()).toBe(SIGN_IN[language]);
    if (screenshots) await page.screenshot({ path: join(SCREENSHOT_DIR, `sign-in-${language}.png`), fullPage: true, animations: 'disabled' });
    const t = translatorFor(language).t;
    await page.getByLabel(t('login.login')).fill(fixture.username);
    await page.getByLabel(t('login.password'), { exact: true }).fill(fixture.password);
    await page.getByRole('button', { name: SIGN_IN[language], exact: true }).click();
    await page.waitForURL(/\/interaction\//);
    await expectLanguage(language);
    expect(await page.locator('h1').innerText()).toBe(t('consent.heading', { client: 'Example App' }));
    await expect(page.getByRole('button', { name: ALLOW[language], exact: true }).isVisible()).resolves.toBe(true);
    if (screenshots) await page.screenshot({ path: join(SCREENSHOT_DIR, `consent-${language}.png`), fullPage: true, animations: 'disabled' });
  }

  for (const language of LANGUAGES) {
    it(`renders sign-in and consent in ${language} when the application asks for it (ui_locales)`, async () => {
      const start = await startAuthorization(config, { ui_locales: language === 'en' ? 'en-GB' : `${language}-XX ${language}` });
      await page.goto(start.url.href);
      await signInThenConsent(language, true);
    });
  }

  for (const language of LANGUAGES.filter((code) => code !== 'en')) {
    it(`renders sign-in and consent in ${language} after the person picks it with the switcher, staying on the page`, async () => {
      const start = await startAuthorization(config);
      await page.goto(start.url.href);
      await expectLanguage('en');
      const before = page.url();
      await page.locator(`nav.languages a[lang="${language}"]`).click();
      await page.waitForLoadState();
      expect(page.url()).toBe(before);
      await signInThenConsent(language, false);
    });
  }
});
