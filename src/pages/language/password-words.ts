import type { WeakPassword } from '../../domain/errors.ts';
import type { Translator } from './translator.ts';

/** What the password policy refused, in the reader's language. */
export function weakPasswordWords(error: WeakPassword, translator: Translator): string {
  switch (error.reason) {
    case 'too_short':
      return translator.t('password.tooShort', { min: error.limit ?? 0 });
    case 'too_long':
      return translator.t('password.tooLong', { max: error.limit ?? 0 });
    case 'contains_identity':
      return translator.t('password.containsIdentity');
    case 'common':
      return translator.t('password.common');
  }
}
