import { readFileSync } from 'node:fs';
import { WeakPassword } from './errors.ts';

/**
 * NIST SP 800-63B §3.1.1.2 rules for a new password: length over composition, a blocklist of
 * common passwords, nothing derived from the account's own identifiers, no silent truncation.
 * Everything is judged on the NFKC form, the form the hasher in passwords.ts hashes.
 */

/** Longest password accepted, in code points after NFKC. */
export const MAX_PASSWORD_LENGTH = 1024;

/** An identifier shorter than this (username "al") would forbid too many good passwords. */
const MIN_IDENTIFIER_LENGTH = 3;

/**
 * NFKC composes at most four code points into one (the longest canonical decomposition), and a
 * code point is at most two UTF-16 units: anything longer cannot come back under the maximum.
 */
const MAX_UTF16_BEFORE_NORMALISING = 8 * MAX_PASSWORD_LENGTH;

const COMMON_PASSWORDS_FILE = new URL('./common-passwords.txt', import.meta.url);

export interface PasswordPolicyOptions {
  /** fewest code points after NFKC */
  minLength: number;
}

/** Who the password is for; either identifier may be unknown. */
export interface PasswordOwner {
  username?: string | null | undefined;
  email?: string | null | undefined;
}

/** The form both sides are compared in: NFKC, then lower case (locale-independent). */
function fold(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

function codePoints(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

let commonPasswords: Set<string> | undefined;

/** Read on first use, once per process (about 97,000 entries after folding; see common-passwords.md). */
function commonPasswordSet(): Set<string> {
  if (!commonPasswords) {
    const set = new Set<string>();
    for (const line of readFileSync(COMMON_PASSWORDS_FILE, 'utf8').split('\n')) {
      if (line !== '') set.add(fold(line));
    }
    commonPasswords = set;
  }
  return commonPasswords;
}

/** The username, the whole email address and its local part, folded; those too short to matter left out. */
function identifiers(owner: PasswordOwner): string[] {
  const found: string[] = [];
  if (owner.username) found.push(fold(owner.username.trim()));
  if (owner.email) {
    const email = fold(owner.email.trim());
    found.push(email);
    const at = email.lastIndexOf('@');
    if (at > 0) found.push(email.slice(0, at));
  }
  return found.filter((identifier) => codePoints(identifier) >= MIN_IDENTIFIER_LENGTH);
}

export class PasswordPolicy {
  readonly minLength: number;

  constructor({ minLength }: PasswordPolicyOptions) {
    if (!Number.isInteger(minLength) || minLength < 1 || minLength > MAX_PASSWORD_LENGTH) {
      throw new RangeError(`minLength must be an integer from 1 to ${MAX_PASSWORD_LENGTH}, got ${minLength}`);
    }
    this.minLength = minLength;
  }

  /** Throws WeakPassword with the reason and a sentence for the person choosing the password. */
  check(password: string, owner: PasswordOwner = {}): void {
    const tooLong = () => new WeakPassword('too_long', `Use at most ${MAX_PASSWORD_LENGTH} characters.`, MAX_PASSWORD_LENGTH);
    if (password.length > MAX_UTF16_BEFORE_NORMALISING) throw tooLong();
    const normalised = password.normalize('NFKC');
    const length = codePoints(normalised);
    if (length > MAX_PASSWORD_LENGTH) throw tooLong();
    if (length < this.minLength) throw new WeakPassword('too_short', `Use at least ${this.minLength} characters.`, this.minLength);
    const folded = normalised.toLowerCase();
    if (identifiers(owner).some((identifier) => folded.includes(identifier))) {
      throw new WeakPassword('contains_identity', 'The password must not contain your username or email address.');
    }
    if (commonPasswordSet().has(folded)) {
      throw new WeakPassword('common', 'This password is one of the most common passwords and easy to guess; choose another.');
    }
  }
}
