import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, TYPE, type MessageFormatElement } from '@formatjs/icu-messageformat-parser';
import { describe, expect, it } from 'vitest';
import { CATALOGS } from '../../src/pages/language/catalogs.ts';
import { LANGUAGES } from '../../src/pages/language/languages.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const english = CATALOGS.en;
const englishKeys = Object.keys(english).sort();

/** Keys the code builds from a prefix and a value: the prefix must appear in the code as written. */
const DYNAMIC_PREFIXES = ['error.words.'];

/** The names a message takes (placeholders, plural and select arguments) and the tags it carries. */
function slots(message: string): string[] {
  const found = new Set<string>();
  const walk = (elements: MessageFormatElement[]) => {
    for (const element of elements) {
      if (element.type === TYPE.argument || element.type === TYPE.number || element.type === TYPE.date || element.type === TYPE.time) found.add(`{${element.value}}`);
      if (element.type === TYPE.plural || element.type === TYPE.select) {
        found.add(`{${element.value}}`);
        for (const option of Object.values(element.options)) walk(option.value);
      }
      if (element.type === TYPE.tag) {
        found.add(`<${element.value}>`);
        walk(element.children);
      }
    }
  };
  walk(parse(message, { requiresOtherClause: true }));
  return [...found].sort();
}

function files(dir: string, pattern: RegExp): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && pattern.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name));
}

const sources = [...files(join(ROOT, 'src'), /\.ts$/), ...files(join(ROOT, 'views'), /\.eta$/)].map((path) => ({ path, text: readFileSync(path, 'utf8') }));

describe('message catalogs', () => {
  for (const language of LANGUAGES.filter((code) => code !== 'en')) {
    it(`${language} has every English key and no other`, () => {
      const keys = Object.keys(CATALOGS[language]).sort();
      expect(englishKeys.filter((key) => !keys.includes(key)), `missing from ${language}`).toEqual([]);
      expect(keys.filter((key) => !englishKeys.includes(key)), `only in ${language}`).toEqual([]);
    });

    it(`${language} takes the same placeholders and tags as English`, () => {
      const mismatched = englishKeys.filter((key) => {
        const translated = CATALOGS[language][key];
        return translated !== undefined && JSON.stringify(slots(translated)) !== JSON.stringify(slots(english[key as keyof typeof english] as string));
      });
      expect(mismatched, `placeholders differ in ${language}`).toEqual([]);
    });
  }

  it('every message is valid ICU MessageFormat with an "other" case, and none is empty', () => {
    for (const language of LANGUAGES) {
      for (const [key, message] of Object.entries(CATALOGS[language])) {
        expect(() => slots(message), `${language} ${key}`).not.toThrow();
        expect(message.trim(), `${language} ${key}`).not.toBe('');
      }
    }
  });

  it('no message holds a straight apostrophe, which ICU reads as quoting (write ’)', () => {
    for (const language of LANGUAGES) {
      const quoting = Object.entries(CATALOGS[language]).filter(([, message]) => message.includes("'"));
      expect(quoting.map(([key]) => `${language} ${key}`)).toEqual([]);
    }
  });

  it('every key is used by the code or a template', () => {
    const used = (key: string) =>
      DYNAMIC_PREFIXES.some((prefix) => key.startsWith(prefix)) || sources.some(({ text }) => text.includes(`'${key}'`) || text.includes(`"${key}"`));
    expect(englishKeys.filter((key) => !used(key))).toEqual([]);
    for (const prefix of DYNAMIC_PREFIXES) expect(sources.some(({ text }) => text.includes(`'${prefix}'`))).toBe(true);
  });

  it('every key a template asks for is in the catalog', () => {
    const asked = sources
      .filter(({ path }) => path.endsWith('.eta'))
      .flatMap(({ text }) => [...text.matchAll(/it\.(?:t|html)\('([^']+)'/g)].map((match) => match[1]!));
    expect(asked.length).toBeGreaterThan(100);
    expect([...new Set(asked.filter((key) => !(key in english) && !DYNAMIC_PREFIXES.includes(key)))]).toEqual([]);
  });
});
