import { DomainError, InvalidRequest, NotFound } from '../../domain/errors.ts';
import type { MessageKey } from './catalogs.ts';
import { DEFAULT_LANGUAGE } from './languages.ts';
import { translatorFor, type MessageValues } from './translator.ts';

/**
 * A refusal a page shows to people in their language: the error page words it from the catalog
 * (`messageKey`); JSON answers and logs keep the English message.
 */
export interface Worded {
  readonly messageKey: MessageKey;
  readonly messageValues?: MessageValues | undefined;
}

export function isWorded(error: unknown): error is DomainError & Worded {
  return error instanceof DomainError && typeof (error as Partial<Worded>).messageKey === 'string';
}

const english = (key: MessageKey, values?: MessageValues) => translatorFor(DEFAULT_LANGUAGE).t(key, values);

export class WordedInvalidRequest extends InvalidRequest implements Worded {
  readonly messageKey: MessageKey;
  readonly messageValues: MessageValues | undefined;
  constructor(key: MessageKey, options?: { cause?: unknown; values?: MessageValues }) {
    super(english(key, options?.values), options);
    this.messageKey = key;
    this.messageValues = options?.values;
  }
}

export class WordedNotFound extends NotFound implements Worded {
  readonly messageKey: MessageKey;
  readonly messageValues: MessageValues | undefined;
  constructor(key: MessageKey, options?: { cause?: unknown; values?: MessageValues }) {
    super(english(key, options?.values), options);
    this.messageKey = key;
    this.messageValues = options?.values;
  }
}
