/**
 * Redis Cluster places a key by a hash of its first non-empty `{…}` section (its hash tag), or of
 * the whole key when it has none; a command or script naming several keys must keep them on one
 * node. Keys that must be used together atomically carry the same tag: `oidc:Model:{id}` and
 * `oidc:Model:{id}:consumed`.
 */
export function hashTag(part: string): string {
  return `{${part}}`;
}

/** The part of `key` that decides its hash slot. */
export function hashedPart(key: string): string {
  const open = key.indexOf('{');
  if (open === -1) return key;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

/** Throws (a programming mistake, on every tier) unless every key is hashed by the same part. */
export function assertOneSlot(operation: string, keys: readonly string[]): void {
  const first = hashedPart(keys[0] ?? '');
  if (keys.some((key) => hashedPart(key) !== first)) {
    throw new TypeError(`${operation}: keys must share a hash tag to stay in one Redis Cluster slot (see hash-tag.ts)`);
  }
}
