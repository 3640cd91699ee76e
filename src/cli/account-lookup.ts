import type { Account, Accounts } from '../domain/accounts.ts';
import { NotFound } from '../domain/errors.ts';

/** The account a command line names by id, username or email address. */
export async function findAccount(accounts: Accounts, idOrLogin: string): Promise<Account> {
  const account = (await accounts.findById(idOrLogin)) ?? (await accounts.findByLogin(idOrLogin));
  if (!account) throw new NotFound(`no account "${idOrLogin}"`);
  return account;
}
