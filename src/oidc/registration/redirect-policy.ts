/** Loopback hosts a native app listens on (RFC 8252 §7.3); any port. */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);
/** A private-use URI scheme: a reversed domain name, so it has a dot (RFC 8252 §7.1). */
const PRIVATE_USE_SCHEME = /^[a-z][a-z0-9+-]*(?:\.[a-z0-9+-]+)+:$/i;

function parsed(uri: string): URL | undefined {
  try {
    return new URL(uri);
  } catch {
    return undefined;
  }
}

/** Whether a native app may use this redirect URI: an http loopback URI or a private-use scheme. */
export function isNativeRedirectUri(uri: string): boolean {
  const url = parsed(uri);
  if (!url || url.username || url.password || url.hash) return false;
  if (url.protocol === 'http:') return LOOPBACK_HOSTS.has(url.hostname);
  return PRIVATE_USE_SCHEME.test(url.protocol);
}

function escaped(text: string, wildcard: string): string {
  return text
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
    .join(wildcard);
}

/**
 * A matcher for one allowed redirect URI pattern. `*` in the authority stands for host labels or
 * port digits only (`https://*.example.com`, `http://127.0.0.1:*`), so it cannot reach past the
 * host into a path or userinfo; in the path it stands for anything up to a fragment. A pattern
 * without a path allows any path.
 */
export function redirectUriPattern(pattern: string): (uri: string) => boolean {
  const schemeEnd = pattern.indexOf('://');
  let source: string;
  if (schemeEnd === -1) {
    source = escaped(pattern, '[^#]*');
  } else {
    const afterScheme = schemeEnd + 3;
    const authorityEnd = pattern.slice(afterScheme).search(/[/?#]/);
    const split = authorityEnd === -1 ? pattern.length : afterScheme + authorityEnd;
    const head = escaped(pattern.slice(0, afterScheme), '') + escaped(pattern.slice(afterScheme, split), '[A-Za-z0-9.-]*');
    source = authorityEnd === -1 ? `${head}(?:[/?][^#]*)?` : head + escaped(pattern.slice(split), '[^#]*');
  }
  const regex = new RegExp(`^${source}$`);
  return (uri) => regex.test(uri);
}
