/**
 * PostgreSQL's jsonb refuses U+0000 and unpaired surrogates ("unsupported Unicode escape
 * sequence"), and a client controls strings that durable payloads carry (`nonce`, the claims
 * request). Such strings, as values or keys, are stored as MARK + base64url of their UTF-16 code
 * units; a string that already starts with MARK is encoded too, so decoding is unambiguous.
 * Every other string is stored as is, so `payload->>'accountId'` keeps working.
 */
const MARK = '\uE000';

function needsEncoding(value: string): boolean {
  return value.startsWith(MARK) || value.includes('\u0000') || !value.isWellFormed();
}

function encodeString(value: string): string {
  return needsEncoding(value) ? MARK + Buffer.from(value, 'utf16le').toString('base64url') : value;
}

function decodeString(value: string): string {
  return value.startsWith(MARK) ? Buffer.from(value.slice(MARK.length), 'base64url').toString('utf16le') : value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON text that jsonb accepts for any JSON-serialisable payload. */
export function toJsonb(payload: unknown): string {
  return JSON.stringify(payload, (_key, value: unknown) => {
    if (typeof value === 'string') return encodeString(value);
    if (isRecord(value) && Object.keys(value).some(needsEncoding)) {
      return Object.fromEntries(Object.entries(value).map(([key, inner]) => [encodeString(key), inner]));
    }
    return value;
  });
}

/** The inverse of `toJsonb`, applied to the parsed jsonb value. */
export function fromJsonb(value: unknown): unknown {
  if (typeof value === 'string') return decodeString(value);
  if (Array.isArray(value)) return value.map(fromJsonb);
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([key, inner]) => [decodeString(key), fromJsonb(inner)]));
  return value;
}
