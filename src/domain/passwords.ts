import argon2 from 'argon2';
import type { Argon2Parameters } from '../config.ts';

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
  /** Spends the time of a verification without a real hash: an unknown user costs what a wrong password costs. */
  verifyDummy(password: string): Promise<false>;
}

/** argon2id, run on libuv's thread pool (never on the event loop). Passwords are NFKC-normalised first. */
export async function createPasswordHasher(parameters: Argon2Parameters): Promise<PasswordHasher> {
  const options = { type: argon2.argon2id as 2, ...parameters };
  const normalise = (password: string) => password.normalize('NFKC');
  const dummyHash = await argon2.hash('postern-dummy-password', options);
  return {
    hash: (password) => argon2.hash(normalise(password), options),
    async verify(hash, password) {
      try {
        return await argon2.verify(hash, normalise(password));
      } catch {
        return false;
      }
    },
    async verifyDummy(password) {
      await argon2.verify(dummyHash, normalise(password)).catch(() => false);
      return false;
    },
  };
}
