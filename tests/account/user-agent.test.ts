import { describe, expect, it } from 'vitest';
import { describeUserAgent, deviceLabel as label } from '../../src/account/user-agent.ts';
import { translatorFor } from '../../src/pages/language/translator.ts';

const deviceLabel = (userAgent: string | undefined, language: 'en' | 'de' | 'fr' | 'es' = 'en') => label(userAgent, translatorFor(language));

// Real User-Agent headers of current browsers, as they send them.
const CASES: Array<[string, string, string | undefined, string | undefined]> = [
  ['Chrome on Windows', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36', 'Chrome 120', 'Windows'],
  ['Chrome on macOS', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', 'Chrome 131', 'macOS'],
  ['Chrome on Linux', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36', 'Chrome 126', 'Linux'],
  ['headless Chromium', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.6778.33 Safari/537.36', 'Chrome 131', 'Linux'],
  ['Chrome on Android', 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36', 'Chrome 124', 'Android 14'],
  ['Chrome on iPhone', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1', 'Chrome 124', 'iOS 17'],
  ['Chrome on ChromeOS', 'Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36', 'Chrome 120', 'ChromeOS'],
  ['Firefox on Windows', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0', 'Firefox 121', 'Windows'],
  ['Firefox on Linux', 'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0', 'Firefox 125', 'Linux'],
  ['Firefox on Android', 'Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0', 'Firefox 121', 'Android 14'],
  ['Firefox on iPhone', 'Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/120.0 Mobile/15E148 Safari/605.1.15', 'Firefox 120', 'iOS 16'],
  ['Safari on macOS', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15', 'Safari 17', 'macOS'],
  ['Safari on iPhone', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1', 'Safari 17', 'iOS 17'],
  ['Safari on iPad', 'Mozilla/5.0 (iPad; CPU OS 16_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.3 Mobile/15E148 Safari/604.1', 'Safari 16', 'iOS 16'],
  ['Edge on Windows', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91', 'Edge 120', 'Windows'],
  ['Edge on Android', 'Mozilla/5.0 (Linux; Android 10; HD1913) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.210 Mobile Safari/537.36 EdgA/120.0.2210.115', 'Edge 120', 'Android 10'],
  ['Edge on iPhone', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 EdgiOS/120.2210.126 Mobile/15E148 Safari/605.1.15', 'Edge 120', 'iOS 17'],
  ['legacy Edge', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19582', 'Edge 18', 'Windows'],
  ['Opera on Windows', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36 OPR/105.0.0.0', 'Opera 105', 'Windows'],
  ['Opera on Android', 'Mozilla/5.0 (Linux; Android 13; SM-S901B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Mobile Safari/537.36 OPR/79.0.4195.76778', 'Opera 79', 'Android 13'],
  ['Presto Opera', 'Opera/9.80 (Windows NT 6.1; WOW64) Presto/2.12.388 Version/12.18', 'Opera 12', 'Windows'],
  ['Samsung Internet', 'Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36', 'Samsung Internet 23', 'Android 13'],
  ['curl', 'curl/8.5.0', undefined, undefined],
  ['Node fetch', 'node', undefined, undefined],
];

describe('naming the browser and system of a User-Agent header', () => {
  it.each(CASES)('%s', (_name, header, browser, os) => {
    expect(describeUserAgent(header)).toEqual({ browser, os });
  });

  it('says so when it does not know', () => {
    expect(describeUserAgent(undefined)).toEqual({ browser: undefined, os: undefined });
    expect(describeUserAgent('')).toEqual({ browser: undefined, os: undefined });
    expect(deviceLabel(undefined)).toBe('An unknown browser');
    expect(deviceLabel('curl/8.5.0')).toBe('An unknown browser');
    expect(deviceLabel('SomeBot/1.0 (X11; Linux x86_64)')).toBe('A browser on Linux');
    expect(deviceLabel('Mozilla/5.0 Firefox/121.0')).toBe('Firefox 121');
    expect(deviceLabel(CASES[0]![1])).toBe('Chrome 120 on Windows');
    expect(deviceLabel(CASES[0]![1], 'de')).toBe('Chrome 120 unter Windows');
    expect(deviceLabel(undefined, 'fr')).toBe('Un navigateur inconnu');
  });

  it('reads only the start of an absurdly long header, quickly', () => {
    const started = performance.now();
    const { browser } = describeUserAgent(`${'Mozilla/5.0 '.repeat(100_000)}Chrome/120.0`);
    expect(browser).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(50);
  });
});
