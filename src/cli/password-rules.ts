import type { PasswordOwner, PasswordPolicy } from '../domain/password-policy.ts';
import { InvalidInput } from './errors.ts';

/**
 * The server's password policy, applied as soon as a password is read: before it is typed a
 * second time and before storage opens. An empty line is most often a forgotten pipe, and says so.
 */
export function newPasswordCheck(policy: PasswordPolicy, owner: PasswordOwner): (password: string) => void {
  return (password) => {
    if (password === '') throw new InvalidInput('refusing an empty password');
    policy.check(password, owner);
  };
}
