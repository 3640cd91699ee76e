import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitForMail } from '../support/outbox.ts';
import { startAuthorization, useSeededServer } from '../support/relying-party.ts';
import { formAction, hiddenField, UserAgent } from '../support/user-agent.ts';

const OUTBOX = join(tmpdir(), `postern-outbox-${randomBytes(6).toString('hex')}`);

/** What a page says about its language: the header, `<html lang>` and Vary. */
function languageOf(response: Response, html: string) {
  return {
    header: response.headers.get('content-language'),
    lang: /<html lang="([^"]+)"/.exec(html)?.[1],
    vary: (response.headers.get('vary') ?? '').split(',').map((name) => name.trim().toLowerCase()),
  };
}

describe('the language of the pages', () => {
  const t = useSeededServer('embedded', { POSTERN_MAIL_OUTBOX: OUTBOX, POSTERN_RATE_LIMIT_PASSWORD_RESET: 'off' });
  afterAll(() => rm(OUTBOX, { recursive: true, force: true }));

  /** The sign-in page of a new authorization request, as a browser with these headers and cookies sees it. */
  async function signInPage(parameters: Record<string, string> = {}, headers: Record<string, string> = {}, agent = new UserAgent(t.server.issuer, headers)) {
    const start = await startAuthorization(t.config, parameters);
    const redirect = await agent.request(start.url.toString());
    const url = new URL(redirect.headers.get('location')!, t.server.issuer).toString();
    const response = await agent.request(url);
    const html = await response.text();
    return { url, response, html, agent, ...languageOf(response, html) };
  }

  it('advertises the supported languages in discovery (ui_locales_supported)', () => {
    expect(t.config.serverMetadata().ui_locales_supported).toEqual(['en', 'de', 'fr', 'es']);
  });

  it('speaks English by default and says so: Content-Language, <html lang>, Vary added to the Vary already there', async () => {
    const page = await signInPage({}, { 'accept-encoding': 'gzip' });
    expect(page.response.status).toBe(200);
    expect(page.html).toContain('<h1>Sign in</h1>');
    expect(page.header).toBe('en');
    expect(page.lang).toBe('en');
    expect(page.vary).toEqual(expect.arrayContaining(['accept-language', 'cookie', 'accept-encoding']));
  });

  it('follows Accept-Language by q-value, falling back from a regional tag to its language (de-AT → de)', async () => {
    const german = await signInPage({}, { 'accept-language': 'ja, de-AT;q=0.8, fr;q=0.5' });
    expect(german.header).toBe('de');
    expect(german.lang).toBe('de');
    expect(german.html).toContain('<h1>Anmelden</h1>');
    const spanish = await signInPage({}, { 'accept-language': 'fr;q=0.4, es-MX;q=0.9, en;q=0.1' });
    expect(spanish.header).toBe('es');
    expect(spanish.html).toContain('Iniciar sesión');
    const excluded = await signInPage({}, { 'accept-language': 'fr;q=0, es;q=0.2' });
    expect(excluded.header).toBe('es');
  });

  it('speaks English when the browser asks only for languages it does not have', async () => {
    const page = await signInPage({}, { 'accept-language': 'ja, zh-CN;q=0.9, pt' });
    expect(page.header).toBe('en');
    expect(page.html).toContain('<h1>Sign in</h1>');
  });

  it('the switcher (a plain link, no JavaScript) sets a cookie that outranks Accept-Language and returns to the same page', async () => {
    const page = await signInPage({}, { 'accept-language': 'de' });
    const link = /<a href="([^"]+)" lang="fr"/.exec(page.html)?.[1]?.replaceAll('&amp;', '&');
    expect(link).toBe(`/language?lang=fr&return=${encodeURIComponent(new URL(page.url).pathname)}`);
    const switched = await page.agent.request(new URL(link!, t.server.issuer).toString());
    expect(switched.status).toBe(303);
    expect(switched.headers.get('location')).toBe(new URL(page.url).pathname);
    const cookie = switched.headers.getSetCookie().find((line) => line.startsWith('postern.lang='));
    expect(cookie).toMatch(/^postern\.lang=fr;/);
    expect(cookie).toMatch(/httponly/i);
    expect(cookie).toMatch(/samesite=lax/i);
    const again = await page.agent.request(page.url);
    const html = await again.text();
    expect(languageOf(again, html).header).toBe('fr');
    expect(html).toContain('<h1>Se connecter</h1>');
  });

  it('ui_locales of the authorization request outranks the cookie and the browser, on sign-in and on consent', async () => {
    const agent = new UserAgent(t.server.issuer, { 'accept-language': 'de' });
    await agent.request(`${t.server.issuer}/language?lang=fr&return=/`);
    const page = await signInPage({ ui_locales: 'pt-BR es-MX en' }, {}, agent);
    expect(page.header).toBe('es');
    expect(page.lang).toBe('es');
    expect(page.html).toContain('Iniciar sesión');
    const consent = await agent.post(formAction(page.html), { csrf: hiddenField(page.html, 'csrf'), login: t.fixture.username, password: t.fixture.password });
    expect(consent.html).toContain('<html lang="es">');
    expect(consent.html).toContain('quiere acceder a su cuenta');
    expect(consent.html).toContain('Su dirección de correo electrónico');
  });

  it('a person who turns down the application’s language with the switcher keeps their choice for it, and only for it', async () => {
    const page = await signInPage({ ui_locales: 'de' });
    expect(page.header).toBe('de');
    const link = /<a href="([^"]+)" lang="fr"/.exec(page.html)?.[1]?.replaceAll('&amp;', '&');
    expect(link).toContain('&over=de');
    const switched = await page.agent.request(new URL(link!, t.server.issuer).toString());
    expect(switched.headers.getSetCookie().find((line) => line.startsWith('postern.lang='))).toMatch(/^postern\.lang=fr~de;/);
    const again = await page.agent.request(page.url);
    const html = await again.text();
    expect(languageOf(again, html).header).toBe('fr');
    expect(html).toContain('<h1>Se connecter</h1>');
    // the whole sign-in keeps it: the consent page of the same request is French too
    const consent = await page.agent.post(formAction(html), { csrf: hiddenField(html, 'csrf'), login: t.fixture.username, password: t.fixture.password });
    expect(consent.html).toContain('<html lang="fr">');
    // another language asked for by an application still wins
    expect((await signInPage({ ui_locales: 'es' }, {}, page.agent)).header).toBe('es');
    expect((await signInPage({ ui_locales: 'de' }, {}, page.agent)).header).toBe('fr');
  });

  it('ui_locales naming no supported language leaves the choice to the cookie, then the browser', async () => {
    const page = await signInPage({ ui_locales: 'ja' }, { 'accept-language': 'fr' });
    expect(page.header).toBe('fr');
  });

  it('the switcher sends the browser only to a path on this site, and ignores a language it does not have', async () => {
    const agent = new UserAgent(t.server.issuer);
    for (const target of ['//evil.example/x', 'https://evil.example/', '/\\evil.example', 'javascript:alert(1)']) {
      const response = await agent.request(`${t.server.issuer}/language?lang=de&return=${encodeURIComponent(target)}`);
      expect(response.status).toBe(303);
      expect(response.headers.get('location')).toBe('/');
    }
    const unknown = await new UserAgent(t.server.issuer).request(`${t.server.issuer}/language?lang=xx&return=/account`);
    expect(unknown.status).toBe(303);
    expect(unknown.headers.getSetCookie().some((line) => line.startsWith('postern.lang='))).toBe(false);
  });

  it('error pages speak the language too: our own 404, and the engine’s error for a bad request with ui_locales', async () => {
    const missing = await new UserAgent(t.server.issuer, { 'accept-language': 'de-CH, en;q=0.5' }).request(`${t.server.issuer}/nowhere`);
    const missingHtml = await missing.text();
    expect(missing.status).toBe(404);
    expect(languageOf(missing, missingHtml).header).toBe('de');
    expect(missingHtml).toContain('Seite nicht gefunden');
    const start = await startAuthorization(t.config, { ui_locales: 'fr', scope: 'openid nonsense' });
    start.url.searchParams.set('client_id', 'no-such-client');
    const engine = await new UserAgent(t.server.issuer).request(start.url.toString());
    const engineHtml = await engine.text();
    expect(engine.status).toBe(400);
    expect(languageOf(engine, engineHtml).header).toBe('fr');
    expect(engineHtml).toContain('Postern ne connaît pas l’application qui vous a envoyé ici.');
  });

  it('writes the email in the language of the request that caused it', async () => {
    const username = `sprache-${randomBytes(3).toString('hex')}`;
    await t.server.services.accounts.create({ username, email: `${username}@example.test`, emailVerified: true }, 'a long enough password');
    const agent = new UserAgent(t.server.issuer, { 'accept-language': 'de-DE,de;q=0.9,en;q=0.8' });
    const form = await agent.get(`${t.server.issuer}/reset`);
    expect(form.html).toContain('Passwort zurücksetzen');
    const since = new Date();
    const sent = await agent.post(formAction(form.html), { csrf: hiddenField(form.html, 'csrf'), login: username });
    expect(sent.html).toContain('Sehen Sie in Ihre E-Mails');
    const mail = await waitForMail(OUTBOX, { to: `${username}@example.test`, since });
    expect(mail.subject).toBe('Postern: Ihr Passwort zurücksetzen');
    expect(mail.language).toBe('de');
    expect(mail.text).toContain(`Jemand hat verlangt, das Passwort des Kontos „${username}“`);
    expect(mail.text).toMatch(/innerhalb von \d+ (Minuten|Minute|Stunden|Stunde|Tagen?)\)/);
    expect(mail.html).toContain('<html lang="de">');
  });
});
