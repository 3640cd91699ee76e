import type { FindAccount } from 'oidc-provider';
import { claimsFor, type Accounts } from '../domain/accounts.ts';

export function createFindAccount(accounts: Accounts): FindAccount {
  return async (_ctx, sub) => {
    const account = await accounts.findById(sub);
    if (!account || account.disabled) return undefined;
    return {
      accountId: account.id,
      // the engine filters these by the granted scopes and requested claims
      claims: async () => ({ ...claimsFor(account), sub: account.id }),
    };
  };
}
