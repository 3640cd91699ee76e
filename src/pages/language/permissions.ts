import type { MessageKey } from './catalogs.ts';
import type { Translator } from './translator.ts';

/** Plain words for the consent and applications pages: what an application receives with each scope. */
const SCOPE_WORDS: Record<string, MessageKey> = {
  openid: 'scope.openid',
  profile: 'scope.profile',
  email: 'scope.email',
  address: 'scope.address',
  phone: 'scope.phone',
  offline_access: 'scope.offline_access',
  roles: 'scope.roles',
};

/**
 * Plain words for claims asked for one by one (the `claims` request parameter) beyond the scopes;
 * claims not listed (sub, auth_time, …) say nothing a person would need to agree to.
 */
const CLAIM_WORDS: Record<string, MessageKey> = {
  name: 'claim.name',
  given_name: 'claim.name',
  family_name: 'claim.name',
  middle_name: 'claim.name',
  nickname: 'claim.nickname',
  preferred_username: 'claim.preferred_username',
  profile: 'claim.profile',
  picture: 'claim.picture',
  website: 'claim.website',
  gender: 'claim.gender',
  birthdate: 'claim.birthdate',
  zoneinfo: 'claim.zoneinfo',
  locale: 'claim.zoneinfo',
  email: 'scope.email',
  email_verified: 'scope.email',
  address: 'scope.address',
  phone_number: 'scope.phone',
  phone_number_verified: 'scope.phone',
  roles: 'scope.roles',
};

/** The lines a person reads for these scopes and claims, each once, in their language. */
export function permissionLines(translator: Translator, scopes: Iterable<string>, claims: Iterable<string> = []): string[] {
  const keys = [...[...scopes].map((scope) => SCOPE_WORDS[scope]), ...[...claims].map((claim) => CLAIM_WORDS[claim])];
  return [...new Set(keys.filter((key): key is MessageKey => key !== undefined))].map((key) => translator.t(key));
}
