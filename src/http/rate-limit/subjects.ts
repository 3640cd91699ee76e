import { isIP } from 'node:net';

const MAX_CLIENT_ID_LENGTH = 200;
// base64 of a capped client id, a colon and a generous secret
const MAX_BASIC_CREDENTIALS_LENGTH = 2048;

/**
 * The client_id of `Authorization: Basic` credentials (RFC 6749 §2.3.1: form-urlencoded, then
 * base64), or undefined for anything else or anything malformed. Not authenticated: only a key.
 */
export function basicClientId(authorization: string | undefined): string | undefined {
  if (!authorization || authorization.length > MAX_BASIC_CREDENTIALS_LENGTH + 6) return undefined;
  if (!/^basic /i.test(authorization)) return undefined;
  const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 1) return undefined;
  return clientIdKey(formDecode(decoded.slice(0, colon)));
}

/** A client_id already parsed from the body by an earlier middleware, if any. */
export function bodyClientId(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const value = (body as { client_id?: unknown }).client_id;
  return typeof value === 'string' ? clientIdKey(value) : undefined;
}

function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

function clientIdKey(value: string | undefined): string | undefined {
  // control characters are not valid in a client_id (RFC 6749 Appendix A.1: VSCHAR)
  if (!value || value.length > MAX_CLIENT_ID_LENGTH || /[\x00-\x1f\x7f]/.test(value)) return undefined;
  return value;
}

/**
 * The address a per-IP budget is kept for: IPv4 as is (also when IPv4-mapped), IPv6 by its /64,
 * which is what one subscriber usually holds. Anything that is not an address shares one budget.
 */
export function ipBucket(ip: string): string {
  const address = ip.includes('%') ? ip.slice(0, ip.indexOf('%')) : ip;
  const version = isIP(address);
  if (version === 4) return address;
  if (version === 0) return 'unparseable';
  const lower = address.toLowerCase();
  if (lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4) return lower.slice(7);
  return `${ipv6Prefix64(lower)}::/64`;
}

function ipv6Prefix64(address: string): string {
  const gap = address.indexOf('::');
  const head = gap === -1 ? address.split(':') : address.slice(0, gap).split(':').filter(Boolean);
  const tail = gap === -1 ? [] : address.slice(gap + 2).split(':').filter(Boolean);
  // a dotted IPv4 tail can only sit in the last 32 bits, so it never reaches the first four groups
  const groups = [...head, ...Array<string>(Math.max(0, 8 - head.length - tail.length)).fill('0'), ...tail];
  return groups.slice(0, 4).map((group) => (group.includes('.') ? '0' : Number.parseInt(group, 16).toString(16))).join(':');
}
