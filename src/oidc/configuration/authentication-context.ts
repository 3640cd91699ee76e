import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import { predatesSignOut, type Accounts } from '../../domain/accounts.ts';
import { failingAsUnavailable } from '../adapter/unavailable-guard.ts';

/**
 * Authentication context classes: a password alone; a password and a second factor; a
 * phishing-resistant sign-in — a passkey, whose signature is bound to Postern's origin, either
 * alone with user verification or after the password.
 */
export const ACR = {
  password: 'urn:postern:acr:pwd',
  secondFactor: 'urn:postern:acr:mfa',
  phishingResistant: 'urn:postern:acr:phr',
} as const;

export const ACR_VALUES = [ACR.password, ACR.secondFactor, ACR.phishingResistant];

/** Authentication methods (RFC 8176) as they appear in `amr`. */
export const AMR = {
  password: ['pwd'],
  secondFactor: ['pwd', 'otp', 'mfa'],
} as const;

/**
 * `amr` of a sign-in with a passkey (RFC 8176): `pop` (proof of possession of a key), `swk` for a
 * synced passkey (a software-held key) or `hwk` for one bound to its authenticator, `user` when
 * the authenticator verified its user (PIN or biometrics); `mfa` when that verification or a
 * password made it a second factor beside the key.
 */
export function passkeyAmr(options: { synced: boolean; userVerified: boolean; password: boolean }): string[] {
  const amr = [...(options.password ? ['pwd'] : []), 'pop', options.synced ? 'swk' : 'hwk'];
  if (options.userVerified) amr.push('user');
  if (options.password || options.userVerified) amr.push('mfa');
  return amr;
}

const RANK: Record<string, number> = { [ACR.password]: 1, [ACR.secondFactor]: 2, [ACR.phishingResistant]: 3 };

/** The weakest class among the requested ones (acr_values means "any of these"); 0 when none we know. */
function requestedRank(ctx: KoaContextWithOIDC): number {
  // the engine types requested claims loosely; this reads the one member it documents for acr
  const requested = (ctx.oidc.claims as { id_token?: { acr?: { value?: string; values?: string[] } } } | undefined)?.id_token?.acr;
  const values = requested?.values ?? (requested?.value ? [requested.value] : []);
  const ranks = values.map((value) => RANK[value]).filter((rank): rank is number => rank !== undefined);
  return ranks.length > 0 ? Math.min(...ranks) : 0;
}

/** The weakest class among `acr_values`; 0 when none we know. */
function rankOf(acrValues: unknown): number {
  if (typeof acrValues !== 'string') return 0;
  const ranks = acrValues.split(' ').map((value) => RANK[value]).filter((rank): rank is number => rank !== undefined);
  return ranks.length > 0 ? Math.min(...ranks) : 0;
}

export function requestsSecondFactor(acrValues: unknown): boolean {
  return rankOf(acrValues) >= RANK[ACR.secondFactor]!;
}

/** The client will take nothing weaker than a passkey. */
export function requestsPhishingResistant(acrValues: unknown): boolean {
  return rankOf(acrValues) >= RANK[ACR.phishingResistant]!;
}


/**
 * The engine's default prompts plus two login checks: a client asking (acr_values) for a second
 * factor the session has not used is sent back through sign-in (`acr_unmet`); a session that
 * began before the user signed out everywhere is not honoured (`stale_session`).
 */
export function interactionsPolicy(accounts: Accounts) {
  const { base, Check } = interactionPolicy;
  const findAccount = failingAsUnavailable((id: string) => accounts.findById(id));
  const policy = base();
  const login = policy.get('login')!;
  login.checks.add(
    new Check('stale_session', 'the session began before the user signed out everywhere', 'login_required', async (ctx) => {
      const { session } = ctx.oidc;
      if (!session?.accountId || ctx.oidc.result?.login) return Check.NO_NEED_TO_PROMPT;
      const account = await findAccount(session.accountId);
      return account && predatesSignOut(account, session.loginTs) ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
    }),
  );
  login.checks.add(
    new Check('acr_unmet', 'the requested authentication context needs a stronger sign-in', 'login_required', (ctx) => {
      const { oidc } = ctx;
      if (!oidc.session?.accountId || oidc.result?.login) return Check.NO_NEED_TO_PROMPT;
      return (RANK[oidc.acr ?? ''] ?? 0) >= requestedRank(ctx) ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
    }),
  );
  return policy;
}
