import type { Translator } from '../pages/language/translator.ts';

/** What the sessions page says about a browser: its name and major version, and its system. */
export interface DeviceDescription {
  /** e.g. "Chrome 120"; undefined when the browser is not one we know */
  browser: string | undefined;
  /** e.g. "Windows", "iOS 17"; undefined when unknown */
  os: string | undefined;
}

type Rule = { name: string; pattern: RegExp };

// Order matters: Edge and Opera also say "Chrome" and "Safari", Chrome also says "Safari", and
// every iOS browser is Safari underneath but names itself (CriOS, FxiOS, EdgiOS, OPT).
const BROWSERS: Rule[] = [
  { name: 'Edge', pattern: /\b(?:Edg|EdgA|EdgiOS|Edge)\/(\d+)/ },
  { name: 'Opera', pattern: /\b(?:OPR|OPT|OPX)\/(\d+)|\bOpera\b(?:.*\bVersion\/(\d+))?/ },
  { name: 'Samsung Internet', pattern: /\bSamsungBrowser\/(\d+)/ },
  { name: 'Firefox', pattern: /\b(?:Firefox|FxiOS)\/(\d+)/ },
  { name: 'Chrome', pattern: /(?:Chrome|CriOS)\/(\d+)/ },
  { name: 'Safari', pattern: /\bVersion\/(\d+)(?:[.\d]*)? (?:Mobile\/\S+ )?Safari\// },
];

// Android and ChromeOS user agents also mention Linux; iPhones and iPads say "like Mac OS X".
const SYSTEMS: Array<{ name: string; pattern: RegExp; version?: (match: RegExpExecArray) => string | undefined }> = [
  { name: 'Windows', pattern: /\bWindows (?:NT|Phone)\b|\bWin64\b/ },
  { name: 'iOS', pattern: /\b(?:iPhone|iPad|iPod)\b.*?\bOS (\d+)_/, version: (match) => match[1] },
  { name: 'iOS', pattern: /\b(?:iPhone|iPad|iPod)\b/ },
  { name: 'Android', pattern: /\bAndroid (\d+)/, version: (match) => match[1] },
  { name: 'Android', pattern: /\bAndroid\b/ },
  { name: 'ChromeOS', pattern: /\bCrOS\b/ },
  { name: 'macOS', pattern: /\bMac OS X\b|\bMacintosh\b/ },
  { name: 'Linux', pattern: /\bLinux\b|\bX11\b/ },
];

const LONGEST = 512;

/** Names the browser and operating system of a User-Agent header, for people to recognise their devices. */
export function describeUserAgent(userAgent: string | undefined): DeviceDescription {
  const text = (userAgent ?? '').slice(0, LONGEST);
  let browser: string | undefined;
  for (const { name, pattern } of BROWSERS) {
    const match = pattern.exec(text);
    if (!match) continue;
    const version = match.slice(1).find((group) => group !== undefined);
    browser = version ? `${name} ${version}` : name;
    break;
  }
  let os: string | undefined;
  for (const { name, pattern, version } of SYSTEMS) {
    const match = pattern.exec(text);
    if (!match) continue;
    const number = version?.(match);
    os = number ? `${name} ${number}` : name;
    break;
  }
  return { browser, os };
}

/** "Chrome 120 on Windows", "A browser on Linux", "An unknown browser", in the reader's language. */
export function deviceLabel(userAgent: string | undefined, translator: Translator): string {
  const { browser, os } = describeUserAgent(userAgent);
  if (browser && os) return translator.t('device.browserOnSystem', { browser, system: os });
  if (browser) return translator.t('device.browserOnly', { browser });
  if (os) return translator.t('device.systemOnly', { system: os });
  return translator.t('device.unknown');
}
