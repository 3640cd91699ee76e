import en from './catalogs/en.json' with { type: 'json' };
import de from './catalogs/de.json' with { type: 'json' };
import fr from './catalogs/fr.json' with { type: 'json' };
import es from './catalogs/es.json' with { type: 'json' };
import type { Language } from './languages.ts';

/** A message's name; the English catalog is the list of them. */
export type MessageKey = keyof typeof en;

export type Catalog = Record<string, string>;

/** ICU MessageFormat messages by key, one catalog per language (src/pages/language/catalogs/). */
export const CATALOGS: Record<Language, Catalog> = { en, de, fr, es };
