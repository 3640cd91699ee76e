import type { InvalidProfileClaim } from '../../domain/errors.ts';
import type { MessageKey } from './catalogs.ts';
import type { Translator } from './translator.ts';

const PROBLEM_WORDS: Record<InvalidProfileClaim['problem'], MessageKey> = {
  not_https_url: 'profileError.notHttpsUrl',
  birthdate_format: 'profileError.birthdateFormat',
  birthdate_not_real: 'profileError.birthdateNotReal',
  locale: 'profileError.locale',
  zoneinfo: 'profileError.zoneinfo',
  phone: 'profileError.phone',
};

/** What the profile form refused, in the reader's language; `claim` lets each language name the field its way. */
export function profileClaimWords(error: InvalidProfileClaim, translator: Translator): string {
  return translator.t(PROBLEM_WORDS[error.problem], { claim: error.claim });
}
