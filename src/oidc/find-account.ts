import type { FindAccount } from 'oidc-provider';
import { claimsFor, predatesSignOut, type Accounts } from '../domain/accounts.ts';
import { failingAsUnavailable } from './adapter/unavailable-guard.ts';

export function createFindAccount(accounts: Accounts): FindAccount {
  return failingAsUnavailable(async (_ctx: Parameters<FindAccount>[0], sub: string, token: Parameters<FindAccount>[2]) => {
    const account = await accounts.findById(sub);
    if (!account || account.disabled) return undefined;
    // a token issued before the user signed out everywhere no longer stands for the account
    if (typeof token?.iat === 'number' && predatesSignOut(account, token.iat)) return undefined;
    return {
      accountId: account.id,
      // the engine filters these by the granted scopes and requested claims
      claims: async () => ({ ...claimsFor(account), sub: account.id }),
    };
  });
}
