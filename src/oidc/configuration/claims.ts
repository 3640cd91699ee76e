/**
 * OpenID Connect scopes and the standard claims each releases (OIDC Core §5.4), and Postern's
 * `roles` scope: the names of the roles the user holds.
 */
export const OIDC_SCOPES = ['openid', 'offline_access', 'profile', 'email', 'address', 'phone', 'roles'] as const;

export const CLAIMS_BY_SCOPE = {
  // how and when the user signed in travel in every ID token. `roles` is listed here too because
  // the engine (conformIdTokenClaims) keeps only openid's claims in an ID token that comes with an
  // access token for userinfo; findAccount releases it only when the `roles` scope was granted.
  openid: ['sub', 'acr', 'amr', 'auth_time', 'roles'],
  profile: ['name', 'given_name', 'family_name', 'middle_name', 'nickname', 'preferred_username', 'profile', 'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at'],
  email: ['email', 'email_verified'],
  address: ['address'],
  phone: ['phone_number', 'phone_number_verified'],
  roles: ['roles'],
} as const;
