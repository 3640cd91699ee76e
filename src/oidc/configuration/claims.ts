/**
 * OpenID Connect scopes and the standard claims each releases (OIDC Core §5.4), and Postern's
 * `roles` scope: the names of the roles the user holds.
 */
export const OIDC_SCOPES = ['openid', 'offline_access', 'profile', 'email', 'roles'] as const;

export const CLAIMS_BY_SCOPE = {
  // how and when the user signed in travel in every ID token. `roles` is listed here too because
  // the engine (conformIdTokenClaims) keeps only openid's claims in an ID token that comes with an
  // access token for userinfo; findAccount releases it only when the `roles` scope was granted.
  openid: ['sub', 'acr', 'amr', 'auth_time', 'roles'],
  profile: ['name', 'given_name', 'family_name', 'preferred_username', 'updated_at'],
  email: ['email', 'email_verified'],
  roles: ['roles'],
} as const;

/** Plain words for the consent page: what an application receives with each scope. */
export const SCOPE_DESCRIPTIONS: Record<string, string> = {
  openid: 'Know who you are when you sign in',
  profile: 'Your name and username',
  email: 'Your email address',
  offline_access: 'Stay connected while you are away (keep access until you revoke it)',
  roles: 'Know your roles',
};
