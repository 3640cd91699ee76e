import type { Middleware } from 'koa';
import { predatesSignOut, type Accounts } from '../domain/accounts.ts';
import { matchesEngineRoute } from './engine-path.ts';

const isIntrospection = matchesEngineRoute('/token/introspection');

/**
 * The engine's introspection does not ask whether the token's account still stands behind it
 * (userinfo and the token endpoint do, through findAccount). An answer `active: true` for a
 * user's token is turned inactive when the account is gone or disabled, or the token was issued
 * before the user signed out everywhere.
 */
export function introspectionAccountCheck(accounts: Accounts): Middleware {
  return async (ctx, next) => {
    await next();
    if (!isIntrospection(ctx.path) || ctx.status !== 200) return;
    const body = ctx.body as { active?: unknown; sub?: unknown; iat?: unknown; client_id?: unknown } | undefined;
    // client-credentials tokens carry the client as subject; only users' tokens have an account
    if (body?.active !== true || typeof body.sub !== 'string' || body.sub === body.client_id) return;
    const account = await accounts.findById(body.sub);
    if (!account || account.disabled || predatesSignOut(account, typeof body.iat === 'number' ? body.iat : undefined)) {
      ctx.body = { active: false };
    }
  };
}
