import { InvalidProfileClaim, InvalidRequest } from './errors.ts';

/** OpenID Connect Core §5.1.1: the address claim's members. */
export interface AddressClaim {
  formatted?: string;
  street_address?: string;
  locality?: string;
  region?: string;
  postal_code?: string;
  country?: string;
}

/**
 * The standard claims (OpenID Connect Core §5.1) an account holds beyond its username, email and
 * names, stored as one JSON object under their claim names.
 */
export interface ProfileClaims {
  middle_name?: string;
  nickname?: string;
  profile?: string;
  picture?: string;
  website?: string;
  gender?: string;
  birthdate?: string;
  zoneinfo?: string;
  locale?: string;
  phone_number?: string;
  phone_number_verified?: boolean;
  address?: AddressClaim;
}

/** A change: a string sets a claim, null (or an empty string) removes it. */
export type ProfileChanges = {
  [K in keyof ProfileClaims]?: ProfileClaims[K] | null;
};

export const TEXT_CLAIMS = ['middle_name', 'nickname', 'gender'] as const;
export const URL_CLAIMS = ['profile', 'picture', 'website'] as const;
export const ADDRESS_FIELDS = ['formatted', 'street_address', 'locality', 'region', 'postal_code', 'country'] as const;

const MAX_TEXT = 200;
const MAX_URL = 2000;
// E.164 with an optional extension (RFC 3966 style), which OpenID Connect Core §5.1 recommends
const PHONE = /^\+[1-9]\d{6,14}(;ext=\d{1,10})?$/;
// YYYY-MM-DD, YYYY alone, or 0000-MM-DD when the year is withheld (§5.1)
const BIRTHDATE = /^(\d{4})(-(\d{2})-(\d{2}))?$/;

let timeZones: ReadonlySet<string> | undefined;
function knownTimeZone(zone: string): boolean {
  timeZones ??= new Set([...Intl.supportedValuesOf('timeZone'), 'UTC']);
  return timeZones.has(zone);
}

function text(name: string, value: unknown, max = MAX_TEXT): string {
  if (typeof value !== 'string') throw new InvalidRequest(`${name} must be a string`);
  const trimmed = value.trim();
  if (trimmed.length > max) throw new InvalidRequest(`${name} must be at most ${max} characters`);
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(trimmed)) throw new InvalidRequest(`${name} must not contain control characters`);
  return trimmed;
}

function webUrl(name: string, value: unknown): string {
  const raw = text(name, value, MAX_URL);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidProfileClaim(name, 'not_https_url', `${name} must be an absolute https URL`);
  }
  if (url.protocol !== 'https:') throw new InvalidProfileClaim(name, 'not_https_url', `${name} must be an absolute https URL`);
  return url.toString();
}

function birthdate(value: unknown): string {
  const raw = text('birthdate', value, 10);
  const match = BIRTHDATE.exec(raw);
  if (!match) throw new InvalidProfileClaim('birthdate', 'birthdate_format', 'birthdate must be YYYY-MM-DD, YYYY, or 0000-MM-DD');
  if (match[2]) {
    const year = match[1] === '0000' ? 2000 : Number(match[1]);
    const date = new Date(Date.UTC(year, Number(match[3]) - 1, Number(match[4])));
    if (date.getUTCMonth() !== Number(match[3]) - 1 || date.getUTCDate() !== Number(match[4])) throw new InvalidProfileClaim('birthdate', 'birthdate_not_real', 'birthdate is not a real date');
  }
  return raw;
}

function locale(value: unknown): string {
  const raw = text('locale', value, 35);
  try {
    const [canonical] = Intl.getCanonicalLocales(raw.replace('_', '-'));
    if (canonical) return canonical;
  } catch {
    // fall through
  }
  throw new InvalidProfileClaim('locale', 'locale', 'locale must be a BCP 47 language tag such as en-US');
}

function address(value: unknown): AddressClaim | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidRequest('address must be an object');
  const result: AddressClaim = {};
  for (const [key, member] of Object.entries(value)) {
    if (!(ADDRESS_FIELDS as readonly string[]).includes(key)) throw new InvalidRequest(`address.${key} is not an address field (${ADDRESS_FIELDS.join(', ')})`);
    if (member === null || member === undefined) continue;
    const cleaned = text(`address.${key}`, member, key === 'formatted' ? 500 : MAX_TEXT);
    if (cleaned !== '') result[key as keyof AddressClaim] = cleaned;
  }
  return Object.keys(result).length > 0 ? result : undefined;
}

function set<K extends keyof ProfileClaims>(claims: ProfileClaims, key: K, value: ProfileClaims[K] | undefined): void {
  if (value === undefined || value === '') delete claims[key];
  else claims[key] = value;
}

/**
 * Applies `changes` to `current`, checking each value. Changing the phone number without saying
 * it is verified marks it unverified.
 */
export function applyProfileChanges(current: ProfileClaims, changes: ProfileChanges): ProfileClaims {
  const next: ProfileClaims = structuredClone(current);
  for (const [key, value] of Object.entries(changes) as Array<[keyof ProfileClaims, unknown]>) {
    if (value === undefined) continue;
    const removing = value === null || value === '';
    if ((TEXT_CLAIMS as readonly string[]).includes(key)) set(next, key as (typeof TEXT_CLAIMS)[number], removing ? undefined : text(key, value));
    else if ((URL_CLAIMS as readonly string[]).includes(key)) set(next, key as (typeof URL_CLAIMS)[number], removing ? undefined : webUrl(key, value));
    else if (key === 'birthdate') set(next, key, removing ? undefined : birthdate(value));
    else if (key === 'zoneinfo') {
      const zone = removing ? undefined : text(key, value, 64);
      if (zone !== undefined && !knownTimeZone(zone)) throw new InvalidProfileClaim('zoneinfo', 'zoneinfo', 'zoneinfo must be a time zone name such as Europe/Paris');
      set(next, key, zone);
    } else if (key === 'locale') set(next, key, removing ? undefined : locale(value));
    else if (key === 'phone_number') {
      const phone = removing ? undefined : text(key, value, 32).replace(/[\s().-]/g, '');
      if (phone !== undefined && !PHONE.test(phone)) throw new InvalidProfileClaim('phone_number', 'phone', 'phone_number must be in international format, such as +44 20 7946 0958');
      if (phone !== current.phone_number) delete next.phone_number_verified;
      set(next, key, phone);
    } else if (key === 'phone_number_verified') {
      if (removing) delete next.phone_number_verified;
      else if (typeof value !== 'boolean') throw new InvalidRequest('phone_number_verified must be true or false');
      else next.phone_number_verified = value;
    } else if (key === 'address') set(next, key, removing ? undefined : address(value));
    else throw new InvalidRequest(`${String(key)} is not a profile claim`);
  }
  if (next.phone_number === undefined) delete next.phone_number_verified;
  else if (changes.phone_number_verified === undefined && next.phone_number_verified === undefined) next.phone_number_verified = false;
  return next;
}

/** The stored object as read back: anything unexpected is dropped rather than released. */
export function storedProfile(value: unknown): ProfileClaims {
  if (typeof value === 'string') {
    try {
      return storedProfile(JSON.parse(value));
    } catch {
      return {};
    }
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as ProfileClaims) : {};
}
