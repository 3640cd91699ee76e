/** OpenID Connect scopes and the standard claims each releases (OIDC Core §5.4). */
export const OIDC_SCOPES = ['openid', 'offline_access', 'profile', 'email'] as const;

export const CLAIMS_BY_SCOPE = {
  // how and when the user signed in travel in every ID token
  openid: ['sub', 'acr', 'amr', 'auth_time'],
  profile: ['name', 'given_name', 'family_name', 'preferred_username', 'updated_at'],
  email: ['email', 'email_verified'],
} as const;

/** Plain words for the consent page: what an application receives with each scope. */
export const SCOPE_DESCRIPTIONS: Record<string, string> = {
  openid: 'Know who you are when you sign in',
  profile: 'Your name and username',
  email: 'Your email address',
  offline_access: 'Stay connected while you are away (keep access until you revoke it)',
};
