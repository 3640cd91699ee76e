import { describe, expect, it } from 'vitest';
import { InvalidProfileClaim, WeakPassword } from '../../src/domain/errors.ts';
import { fromUiLocales } from '../../src/pages/language/negotiate.ts';
import { weakPasswordWords } from '../../src/pages/language/password-words.ts';
import { profileClaimWords } from '../../src/pages/language/profile-words.ts';
import { translatorFor } from '../../src/pages/language/translator.ts';

const en = translatorFor('en');
const de = translatorFor('de');
const fr = translatorFor('fr');
const es = translatorFor('es');

describe('the translator', () => {
  it('writes plurals the way each language does', () => {
    expect(en.t('account.sessionCount', { count: 1 })).toBe('Signed in on 1 device');
    expect(en.t('account.sessionCount', { count: 3 })).toBe('Signed in on 3 devices');
    expect(en.t('account.applicationCount', { count: 0 })).toBe('No application has access');
    expect(de.t('account.sessionCount', { count: 1 })).toBe('Angemeldet auf 1 Gerät');
    expect(de.t('account.sessionCount', { count: 2 })).toBe('Angemeldet auf 2 Geräten');
    // French counts 0 and 1 as singular
    expect(fr.t('twoStep.remaining', { count: 0 })).toMatch(/^Il reste 0 code de récupération\./);
    expect(fr.t('twoStep.remaining', { count: 2 })).toMatch(/^Il reste 2 codes de récupération\./);
    expect(es.t('twoStep.remaining', { count: 1 })).toMatch(/^Queda 1 código de recuperación\./);
    expect(es.t('twoStep.remaining', { count: 5 })).toMatch(/^Quedan 5 códigos de recuperación\./);
  });

  it('writes numbers, durations, dates and relative times in the language', () => {
    expect(de.t('accountPassword.newHint', { min: 1000 })).toMatch(/^Mindestens 1\.000 Zeichen/);
    expect(en.duration(1800)).toBe('30 minutes');
    expect(en.duration(3600)).toBe('1 hour');
    expect(de.duration(2 * 86400)).toBe('2 Tagen');
    expect(fr.duration(3600)).toBe('1 heure');
    expect(es.duration(86400)).toBe('1 día');
    const moment = new Date('2026-11-24T10:32:00Z');
    expect(en.dateTime(moment)).toBe('24 Nov 2026, 10:32 UTC');
    expect(de.dateTime(moment)).toBe('24. Nov. 2026, 10:32 UTC');
    expect(fr.dateTime(moment)).toMatch(/^24 nov\. 2026(,| à) 10:32 UTC$/);
    expect(es.dateTime(moment)).toMatch(/^24 nov 2026, 10:32 UTC$/);
    const now = new Date('2026-11-24T12:00:00Z');
    expect(en.relative(new Date('2026-11-24T11:55:00Z'), now)).toBe('5 minutes ago');
    expect(de.relative(new Date('2026-11-24T11:55:00Z'), now)).toBe('vor 5 Minuten');
    expect(fr.relative(new Date('2026-11-23T12:00:00Z'), now)).toBe('hier');
    expect(es.relative(new Date('2026-11-24T11:59:50Z'), now)).toBe('ahora');
  });

  it('escapes every value of a message with markup and makes only its known tags', () => {
    const html = en.html('login.lead', { client: '<script>alert("x")</script> & co' });
    expect(html).toBe('to continue to <strong>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co</strong>');
    const link = en.html('error.checkAddress', {}, { link: '/account?a=1&b="2"' });
    expect(link).toBe('Check the address, or go to <a class="inline-link" href="/account?a=1&amp;b=&quot;2&quot;">your account</a>.');
    const time = de.html('twoStep.turnedOn', { when: '24. Nov. 2026', datetime: '2026-11-24T10:32:00.000Z' });
    expect(time).toBe('Eingeschaltet am <time datetime="2026-11-24T10:32:00.000Z">24. Nov. 2026</time>.');
  });

  it('words domain refusals for people', () => {
    expect(weakPasswordWords(new WeakPassword('too_short', 'Use at least 12 characters.', 12), de)).toBe('Verwenden Sie mindestens 12 Zeichen.');
    expect(weakPasswordWords(new WeakPassword('common', 'x'), en)).toBe('This password is one of the most common passwords and easy to guess; choose another.');
    expect(profileClaimWords(new InvalidProfileClaim('website', 'not_https_url', 'x'), en)).toBe('website must be an absolute https URL');
    expect(profileClaimWords(new InvalidProfileClaim('website', 'not_https_url', 'x'), de)).toBe('Die Website muss eine vollständige https-Adresse sein.');
    expect(profileClaimWords(new InvalidProfileClaim('picture', 'not_https_url', 'x'), fr)).toBe('La photo doit être une adresse https complète.');
  });

  it('reads ui_locales in order, by exact tag or by language', () => {
    expect(fromUiLocales('pt-BR  es-MX fr')).toBe('es');
    expect(fromUiLocales('DE')).toBe('de');
    expect(fromUiLocales('ja zh')).toBeUndefined();
    expect(fromUiLocales(['de'])).toBeUndefined();
    expect(fromUiLocales(undefined)).toBeUndefined();
  });
});
