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

/** Plain words for the consent page: what an application receives with each scope. */
export const SCOPE_DESCRIPTIONS: Record<string, string> = {
  openid: 'Know who you are when you sign in',
  profile: 'Your name, username and the rest of your profile',
  email: 'Your email address',
  address: 'Your postal address',
  phone: 'Your phone number',
  offline_access: 'Stay connected while you are away (keep access until you revoke it)',
  roles: 'Know your roles',
};

/**
 * Plain words for claims asked for one by one (the `claims` request parameter) beyond the scopes;
 * claims not listed (sub, auth_time, …) say nothing a person would need to agree to.
 */
export const CLAIM_DESCRIPTIONS: Record<string, string> = {
  name: 'Your name',
  given_name: 'Your name',
  family_name: 'Your name',
  middle_name: 'Your name',
  nickname: 'Your nickname',
  preferred_username: 'Your username',
  profile: 'The address of your profile page',
  picture: 'Your picture',
  website: 'Your website',
  gender: 'Your gender',
  birthdate: 'Your date of birth',
  zoneinfo: 'Your time zone and language',
  locale: 'Your time zone and language',
  email: 'Your email address',
  email_verified: 'Your email address',
  address: 'Your postal address',
  phone_number: 'Your phone number',
  phone_number_verified: 'Your phone number',
  roles: 'Know your roles',
};
