import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import type { Provider } from 'oidc-provider';
import { predatesSignOut, type Account, type Accounts } from '../domain/accounts.ts';
import { ACCOUNT_PATH } from '../interactions/paths.ts';
import { ACCOUNT_CLIENT_ID, accountCallbackUri } from './account-client.ts';

/** The person using the account pages, and the engine session their browser is signed in with. */
export interface SignedInUser {
  account: Account;
  /** the session's stable id (the cookie's value rotates; this does not) */
  sessionUid: string;
}

const FLOW_COOKIE = 'postern.account_signin';
const FLOW_TTL_MS = 10 * 60 * 1000;
/** the account pages a sign-in may return to: /account and one or more lower-case path segments */
const RETURN_PATH = /^\/account(?:\/[a-z-]{1,32}){0,3}$/;

interface SignInFlow {
  state: string;
  returnTo: string;
}

function flowCookieOptions(ctx: Context) {
  return { httpOnly: true, sameSite: 'lax' as const, secure: ctx.secure, signed: true, path: ACCOUNT_PATH, overwrite: true };
}

/**
 * The signed-in user of this browser, read from the engine's session cookie; undefined when there
 * is no session, its account is gone or disabled, or it began before the user signed out
 * everywhere. Never creates a session.
 */
export async function currentUser(ctx: Context, provider: Provider, accounts: Accounts): Promise<SignedInUser | undefined> {
  const session = await provider.Session.get(ctx);
  if (!session.accountId) return undefined;
  const account = await accounts.findById(session.accountId);
  if (!account || account.disabled) return undefined;
  if (predatesSignOut(account, session.loginTs)) return undefined;
  return { account, sessionUid: session.uid };
}

/**
 * Sends the browser through the engine's authorization endpoint with the account pages' own
 * client, so that signing in here is the same sign-in (password, second factor, lockouts) as for
 * any application, and lands in the same session.
 */
export function redirectToSignIn(ctx: Context, issuer: string, returnTo: string): void {
  const state = randomBytes(24).toString('base64url');
  // PKCE is required of every client. The code is never redeemed (the session cookie is what
  // signs this browser in), so the verifier is not kept: nobody, not even we, can redeem it.
  const challenge = createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url');
  const flow: SignInFlow = { state, returnTo: RETURN_PATH.test(returnTo) ? returnTo : ACCOUNT_PATH };
  ctx.cookies.set(FLOW_COOKIE, Buffer.from(JSON.stringify(flow)).toString('base64url'), { ...flowCookieOptions(ctx), maxAge: FLOW_TTL_MS });
  const url = new URL('/auth', issuer);
  url.search = new URLSearchParams({
    client_id: ACCOUNT_CLIENT_ID,
    redirect_uri: accountCallbackUri(issuer),
    response_type: 'code',
    scope: 'openid',
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  ctx.status = 303;
  ctx.redirect(url.toString());
}

function readFlow(ctx: Context): SignInFlow | undefined {
  const raw = ctx.cookies.get(FLOW_COOKIE, { signed: true });
  if (!raw) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Partial<SignInFlow>;
    if (typeof parsed.state !== 'string' || typeof parsed.returnTo !== 'string') return undefined;
    return { state: parsed.state, returnTo: RETURN_PATH.test(parsed.returnTo) ? parsed.returnTo : ACCOUNT_PATH };
  } catch {
    return undefined;
  }
}

function sameText(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

export type CallbackOutcome =
  | { kind: 'signed_in'; returnTo: string }
  /** the user cancelled on the sign-in page, or the engine refused */
  | { kind: 'refused'; error: string }
  /** no flow of this browser, or a state that is not ours */
  | { kind: 'unexpected' };

/** Checks the authorization response against the flow this browser started; forgets the flow. */
export function checkCallback(ctx: Context, issuer: string): CallbackOutcome {
  const flow = readFlow(ctx);
  ctx.cookies.set(FLOW_COOKIE, null, flowCookieOptions(ctx));
  const query = ctx.query;
  const state = typeof query.state === 'string' ? query.state : '';
  if (!flow || !sameText(state, flow.state)) return { kind: 'unexpected' };
  if (typeof query.iss === 'string' && query.iss !== issuer) return { kind: 'unexpected' };
  if (typeof query.error === 'string') return { kind: 'refused', error: query.error.slice(0, 64) };
  if (typeof query.code !== 'string' || query.code === '') return { kind: 'unexpected' };
  return { kind: 'signed_in', returnTo: flow.returnTo };
}
