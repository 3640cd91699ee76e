import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page, type Response } from 'playwright-core';

/** Debian's Chromium: playwright's own browser downloads cannot work on these machines. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

const MISSING = `Chromium is not installed at ${CHROMIUM_PATH} (Debian package "chromium")`;

/** On a developer machine without Chromium the browser suites are skipped; in CI they fail. */
export const skipBrowserSuites = !existsSync(CHROMIUM_PATH) && !process.env.CI;
if (skipBrowserSuites) console.warn(`${MISSING}: skipping the browser tests. Install it to run them; with CI=true they fail instead.`);

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`${MISSING}: the browser tests cannot run.`);
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
}

export const DESKTOP = { width: 1280, height: 800 };
export const MOBILE = { width: 390, height: 844 };

export interface PageWatch {
  /** every top-level document the page received from the watched origin, redirects excluded */
  documents: Response[];
  /**
   * Console errors and uncaught page errors (Chromium reports CSP violations as console errors),
   * except the "Failed to load resource" line Chromium also logs for a top-level document with a
   * 4xx status: those statuses are deliberate (a failed login is a 401) and the tests assert them.
   */
  errors(): string[];
}

const DOCUMENT_STATUS = /^Failed to load resource: the server responded with a status of \d+/;

export function watchPage(page: Page, origin: string): PageWatch {
  const documents: Response[] = [];
  const messages: Array<{ text: string; url: string }> = [];
  page.on('console', (message) => {
    if (message.type() === 'error') messages.push({ text: message.text(), url: message.location().url });
  });
  page.on('pageerror', (error) => messages.push({ text: error.message, url: '' }));
  page.on('response', (response) => {
    const request = response.request();
    const redirect = response.status() >= 300 && response.status() < 400;
    if (request.isNavigationRequest() && request.frame() === page.mainFrame() && !redirect && new URL(response.url()).origin === origin) {
      documents.push(response);
    }
  });
  return {
    documents,
    errors: () =>
      messages
        .filter(({ text, url }) => !(DOCUMENT_STATUS.test(text) && documents.some((document) => document.url() === url && document.status() >= 400)))
        .map(({ text, url }) => `${text} (${url})`),
  };
}

export const SCREENSHOT_DIR = join(process.cwd(), 'test-results', 'screenshots');

/** `sign-in with an error` → `sign-in-with-an-error`: a page's name as a file name. */
export function screenshotName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

/**
 * Full-page screenshots of the page as it is, in test-results/screenshots (git-ignored):
 * `<name>-light.png` and `<name>-dark.png` at desktop size, `<name>-mobile.png` at phone size.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const file = (variant: string) => join(SCREENSHOT_DIR, `${screenshotName(name)}-${variant}.png`);
  const original = page.viewportSize() ?? DESKTOP;
  await page.setViewportSize(DESKTOP);
  await page.emulateMedia({ colorScheme: 'light' });
  await page.screenshot({ path: file('light'), fullPage: true, animations: 'disabled' });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: file('dark'), fullPage: true, animations: 'disabled' });
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize(MOBILE);
  await page.screenshot({ path: file('mobile'), fullPage: true, animations: 'disabled' });
  await page.setViewportSize(original);
  await page.emulateMedia({ colorScheme: null });
}
