import { InvalidInput } from './errors.ts';

// TODO(registration): move to src/domain/passwords.ts once the sign-up and reset pages need the
// same rules; NIST SP 800-63B §3.1.1.2 also asks for a blocklist check there.
export const MIN_PASSWORD_LENGTH = 8;
/** generous (NIST asks for at least 64) but bounded, so a piped file is not hashed by mistake */
export const MAX_PASSWORD_LENGTH = 1024;

/** Length over composition: characters are counted after NFKC, the form the hasher sees. */
export function checkNewPassword(password: string): string {
  if (password === '') throw new InvalidInput('refusing an empty password');
  const length = [...password.normalize('NFKC')].length;
  if (length < MIN_PASSWORD_LENGTH) throw new InvalidInput(`password too short: use at least ${MIN_PASSWORD_LENGTH} characters`);
  if (length > MAX_PASSWORD_LENGTH) throw new InvalidInput(`password too long: use at most ${MAX_PASSWORD_LENGTH} characters`);
  return password;
}
