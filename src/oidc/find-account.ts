import type { FindAccount } from 'oidc-provider';
import { claimsFor, predatesSignOut, type Accounts } from '../domain/accounts.ts';
import { failingAsUnavailable } from './adapter/unavailable-guard.ts';
import type { EntitlementsLookup } from './entitlements.ts';

type ClaimsRequest = Record<string, unknown> | undefined;

/** Whether the roles claim is released: with the `roles` scope, or asked for by name (the `claims` parameter, consented). */
function releasesRoles(scope: string, claims: ClaimsRequest): boolean {
  return scope.split(' ').includes('roles') || (claims !== undefined && 'roles' in claims);
}

export function createFindAccount(accounts: Accounts, entitlements: EntitlementsLookup): FindAccount {
  return failingAsUnavailable(async (ctx: Parameters<FindAccount>[0], sub: string, token: Parameters<FindAccount>[2]) => {
    const account = await accounts.findById(sub);
    if (!account || account.disabled) return undefined;
    // a token issued before the user signed out everywhere no longer stands for the account
    if (typeof token?.iat === 'number' && predatesSignOut(account, token.iat)) return undefined;
    return {
      accountId: account.id,
      // the engine filters these by the granted scopes and requested claims
      claims: async (_use: string, scope: string, claims?: ClaimsRequest) => ({
        ...claimsFor(account),
        sub: account.id,
        // the roles the user holds now, read again for every ID token and userinfo answer
        ...(releasesRoles(scope, claims) ? { roles: (await entitlements.of({ kind: 'account', id: account.id }, ctx)).names } : {}),
      }),
    };
  });
}
