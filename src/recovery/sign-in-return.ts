import type { Context } from 'koa';
import type { Provider } from 'oidc-provider';
import { INTERACTION_PATH } from '../oidc/provider.ts';
import { useRequestLanguage } from '../pages/language/page-language.ts';

/** The sign-in a reset or a registration was started from, for the way back to it. */
export interface SignInReturn {
  href: string;
  clientName: string;
}

const COOKIE = 'postern.signin_return';
const TTL_MS = 60 * 60 * 1000;
const INTERACTION_UID = /^[\w-]{8,64}$/;

function cookieOptions(ctx: Context) {
  return { httpOnly: true, sameSite: 'lax' as const, secure: ctx.secure, signed: true, path: '/', overwrite: true };
}

/**
 * `?return=<interaction uid>` on the reset or registration page, as the sign-in page links them:
 * kept in a signed cookie, so that the mailed link, opened later in this browser, still knows it.
 */
export function rememberSignIn(ctx: Context): void {
  const uid = returnParameter(ctx);
  if (uid) ctx.cookies.set(COOKIE, uid, { ...cookieOptions(ctx), maxAge: TTL_MS });
}

function returnParameter(ctx: Context): string | undefined {
  const uid = ctx.query.return;
  return typeof uid === 'string' && INTERACTION_UID.test(uid) ? uid : undefined;
}

/** The sign-in to go back to, while the engine still has it; otherwise none. */
export async function signInToReturnTo(ctx: Context, provider: Provider): Promise<SignInReturn | undefined> {
  // the page that sets the cookie names the sign-in in its own address
  const uid = returnParameter(ctx) ?? ctx.cookies.get(COOKIE, { signed: true });
  if (!uid || !INTERACTION_UID.test(uid)) return undefined;
  const interaction = await provider.Interaction.find(uid);
  const clientId = interaction?.params.client_id;
  if (!interaction || typeof clientId !== 'string') return undefined;
  const client = await provider.Client.find(clientId);
  if (!client) return undefined;
  // the application's ui_locales reach the reset and registration pages its sign-in leads to
  useRequestLanguage(ctx, interaction.params.ui_locales);
  return { href: `${INTERACTION_PATH}/${uid}`, clientName: (client.clientName as string | undefined) ?? clientId };
}
