import { gzipSync } from 'node:zlib';
import { decodeSafe, joinParams, MB, splitParams } from './draft.ts';
import type { Prng } from './prng.ts';

// The malformed pieces the categories put into requests: parameter values and names, methods,
// content types, credentials, paths.

/** A value where a parameter value goes, already as it is on the wire. */
export function garbageValue(rng: Prng): string {
  return rng.weighted<() => string>([
    [() => rng.pick(['', '%', '%4', '%zz', '%E0%A4%A', '%%%', '%G0', '%-1', '%u0041', '%25', '%2', 'a%', '%%41']), 6],
    [() => rng.pick(['%00', 'a%00b', '%00%00%00', '\x00', 'a\x00b', '%01%02%1F%7F']), 4],
    [() => rng.pick(['\xff\xfe', '\xc3\x28', '\xc0\xaf', '\xed\xa0\x80', '\xf4\x90\x80\x80', '\xe2\x82', '%C3%28', '%C0%AF', '%ED%A0%80', '%F4%90%80%80', '%FF%FE', '%E2%82']), 5],
    [() => rng.pick(['%F0%9F%98%80', '%E2%80%AE', '%EF%BB%BF', '%EF%BF%BF', '%CC%81%CC%81%CC%81', '%E1%BA%9E', '%EF%AC%80', '%E2%84%AA']), 3],
    [() => rng.pick(['null', 'undefined', 'true', 'NaN', '[]', '{}', '%5B%5D', '%7B%22a%22%3A1%7D', '-1', '0', '1e309', '9'.repeat(400), '0x10']), 3],
    [() => rng.pick(['a+b', '+', '+++', ' ', '%20', '\r\n', '%0D%0A', '%0A', '\t', '%09', '=', '==', '&', '%26', ';']), 3],
    [() => rng.pick(['%3Cscript%3Ealert(1)%3C%2Fscript%3E', "'%3B%20drop%20table%20accounts%3B--", '..%2F..%2Fetc%2Fpasswd', 'javascript%3Aalert(1)', 'http%3A%2F%2Fevil.example%2Fcallback', '%24%7Bjndi%3Aldap%3A%2F%2Fx%7D', '%5C', '%22', '%27', '%60']), 3],
    [() => 'a'.repeat(rng.int(1000, 8000)), 3],
    [() => rng.string(rng.int(10_000, 15_000)), 2],
    [() => rng.string(rng.int(20_000, 50_000)), 1],
    [() => rng.bytes(rng.int(1, 64)), 3],
  ])();
}

export const FUNNY_NAMES = ['a[]', 'a[0]', 'a[b]', 'a[b][c]', `${'a['.repeat(40)}x${']'.repeat(40)}`, '__proto__', '__proto__[polluted]', 'constructor[prototype][polluted]', 'toString', 'valueOf', 'hasOwnProperty', '', '%00', '[]', '[', ']', 'a%5B%5D'];

/** One change to an encoded parameter list (a form body or a query string). */
export function mangleParams(rng: Prng, text: string | null): { text: string; label: string } {
  const pairs = splitParams(text);
  const target = () => (pairs.length > 0 ? rng.int(0, pairs.length - 1) : -1);
  const op = rng.weighted<string>([
    ['value', 10],
    ['duplicate', 4],
    ['array', 4],
    ['funny-name', 4],
    ['drop', 3],
    ['many', 2],
    ['truncate', 2],
    ['empty', 2],
    ['raw', 2],
  ]);
  switch (op) {
    case 'value': {
      const at = target();
      const value = garbageValue(rng);
      if (at === -1) return { text: `a=${value}`, label: 'a garbage parameter' };
      pairs[at] = [pairs[at]![0]!, value];
      return { text: joinParams(pairs), label: `garbage in ${decodeSafe(pairs[at]![0]!)}` };
    }
    case 'duplicate': {
      const at = target();
      if (at === -1) return { text: 'a=1&a=2', label: 'a duplicated parameter' };
      const [name, value = ''] = pairs[at]!;
      pairs.splice(at + 1, 0, [name!, rng.chance(0.5) ? value : garbageValue(rng)]);
      return { text: joinParams(pairs), label: `${decodeSafe(name!)} twice` };
    }
    case 'array': {
      const at = target();
      if (at === -1) return { text: 'a[]=1&a[]=2', label: 'an array parameter' };
      const [name, value = ''] = pairs[at]!;
      const suffix = rng.pick(['[]', '[0]', '[x]', '[][]', '%5B%5D', '[__proto__]']);
      pairs[at] = [`${name}${suffix}`, value];
      if (rng.chance(0.5)) pairs.splice(at, 0, [`${name}${suffix}`, value]);
      return { text: joinParams(pairs), label: `${decodeSafe(name!)}${suffix}` };
    }
    case 'funny-name': {
      const name = rng.pick(FUNNY_NAMES);
      pairs.splice(rng.int(0, pairs.length), 0, [name, rng.chance(0.7) ? '1' : garbageValue(rng)]);
      return { text: joinParams(pairs), label: `parameter named ${JSON.stringify(name.slice(0, 30))}` };
    }
    case 'drop': {
      const at = target();
      if (at === -1) return { text: '', label: 'no parameters' };
      const [name] = pairs.splice(at, 1)[0]!;
      return { text: joinParams(pairs), label: `without ${decodeSafe(name!)}` };
    }
    case 'many': {
      const count = rng.pick([500, 2000, 5000]);
      const extra = Array.from({ length: count }, (_, i) => (rng.chance(0.5) ? `p${i}=1` : 'a=1')).join('&');
      return { text: pairs.length > 0 ? `${joinParams(pairs)}&${extra}` : extra, label: `${count} more parameters` };
    }
    case 'truncate': {
      const whole = joinParams(pairs);
      const cut = rng.int(0, Math.max(0, whole.length - 1));
      return { text: whole.slice(0, cut), label: `cut after ${cut} bytes` };
    }
    case 'empty': {
      const value = rng.pick(['&', '=', '&&&', '=&=&=', 'a', '=a', '&=', '%3D', '&a', 'a&&b']);
      return { text: pairs.length > 0 && rng.chance(0.5) ? `${joinParams(pairs)}${value}` : value, label: `parameters ${JSON.stringify(value)}` };
    }
    default: {
      const raw = rng.bytes(rng.int(1, 200));
      return { text: rng.chance(0.5) ? `${joinParams(pairs)}&${raw}` : raw, label: 'random bytes' };
    }
  }
}

export const ODD_METHODS = ['TRACE', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'GET', 'POST', 'CONNECT', 'PROPFIND', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'SEARCH', 'PURGE', 'REPORT', 'QUERY', 'M-SEARCH', 'NOTIFY', 'SUBSCRIBE', 'LINK', 'ACL', 'MERGE', 'SOURCE'];
export const WEIRD_METHOD_TOKENS = ['FOO', 'get', 'Post', 'G-ET', 'GETT', 'X'.repeat(200), 'BREW', 'DEBUG', 'TRACK', 'HTTP/1.1', '1', '!#$%&', 'PRI'];

export const CONTENT_TYPES = [
  null,
  '',
  'text/plain',
  'text/html',
  'application/json',
  'application/xml',
  'application/octet-stream',
  'application/jwt',
  'multipart/form-data',
  'multipart/form-data; boundary=----x',
  'application/x-www-form-urlencoded; charset=foo',
  'application/x-www-form-urlencoded; charset=utf-16',
  'application/x-www-form-urlencoded; charset=utf-16le',
  'application/x-www-form-urlencoded; charset=latin1',
  'application/x-www-form-urlencoded; charset=iso-8859-1',
  'application/x-www-form-urlencoded; charset="utf-8"',
  'application/x-www-form-urlencoded; charset=utf-8; charset=ascii',
  'application/x-www-form-urlencoded; charset=',
  'application/x-www-form-urlencoded;;;',
  'application/x-www-form-urlencoded; =',
  'application/x-www-form-urlencoded; a',
  'APPLICATION/X-WWW-FORM-URLENCODED',
  'application/x-www-form-urlencoded, application/json',
  'application/json, application/x-www-form-urlencoded',
  'x-www-form-urlencoded',
  'application/x-www-form-urlencoded+json',
  '*/*',
  'application/*',
  'a/b/c',
  '/',
  ';',
  'application/x-www-form-urlencoded\xff',
  `application/x-www-form-urlencoded; x=${'y'.repeat(4000)}`,
];

/** A valid gzip stream that expands far beyond any body limit. */
export const GZIP_BOMB = gzipSync(Buffer.alloc(4 * MB, 'a')).toString('latin1');

const b64 = (text: string) => Buffer.from(text, 'latin1').toString('base64');

/** Every malformed Authorization value with what it is (`rng` only picks the sizes of the huge ones). */
export function authorizationValues(rng: Prng): Array<[string, string]> {
  return [
    ['Basic', 'Basic without credentials'],
    ['Basic ', 'Basic and a space'],
    ['Basic %%%', 'Basic with bad base64'],
    ['Basic ====', 'Basic with only padding'],
    ['Basic !@#$%^&*()', 'Basic with non-base64 characters'],
    [`Basic ${b64('nocolon')}`, 'Basic without a colon'],
    [`Basic ${b64(':')}`, 'Basic of a lone colon'],
    [`Basic ${b64(':secret')}`, 'Basic with an empty client id'],
    [`Basic ${b64('{{clientId2}}:')}`, 'Basic with an empty secret'],
    ['Basic {{basic2}}x', 'Basic with a byte too many'],
    [`Basic ${b64('%zz:secret')}`, 'Basic with a bad percent-encoded id'],
    [`Basic ${b64('a%:b%')}`, 'Basic with truncated percent-encoding'],
    [`Basic ${b64('\xff\xfe\x00:\x00\xff')}`, 'Basic of invalid UTF-8 and NUL'],
    [`Basic ${b64('fuzz\x00client:secret')}`, 'Basic with a NUL in the client id'],
    [`Basic ${b64('fuzz%00client:secret')}`, 'Basic with an encoded NUL in the client id'],
    [`Basic ${b64(`${'i'.repeat(300)}:secret`)}`, 'Basic with a 300-byte id'],
    [`Basic ${'A'.repeat(rng.int(3000, 6000))}`, 'a huge Basic'],
    [`Basic ${'A'.repeat(rng.int(11_000, 15_000))}`, 'a very huge Basic'],
    [`Basic ${'A'.repeat(20_000)}`, 'a Basic over the header limit'],
    ['Basic a b c', 'Basic with spaces'],
    ['basic {{basic2}}', 'lower-case basic'],
    ['BASIC {{basic2}}', 'upper-case BASIC'],
    ['Basic  {{basic2}}', 'Basic with two spaces'],
    ['Basic {{basic}}', "another client's credentials"],
    ['Bearer', 'Bearer without a token'],
    ['Bearer ', 'Bearer and a space'],
    ['Bearer a b', 'Bearer with spaces'],
    [`Bearer ${'x'.repeat(rng.int(4000, 12_000))}`, 'a huge Bearer token'],
    ['Bearer {{accessToken}}', 'a bearer token where a client is expected'],
    ['Bearer {{idToken}}', 'an ID token as bearer'],
    ['Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', 'an unsigned JWT'],
    ['Bearer eyJ.eyJ.sig', 'a broken JWT'],
    ['Bearer \x7f\x80\xff', 'a bearer of odd bytes'],
    ['DPoP abc', 'a DPoP scheme'],
    ['Digest username="x", realm="y"', 'a Digest scheme'],
    ['Negotiate YIIBhwYGKwYBBQUCoIIBezCCAXc=', 'a Negotiate scheme'],
    ['NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAGAbEdAAAADw==', 'an NTLM scheme'],
    ['Token abc', 'an unknown scheme'],
    ['x', 'a bare word'],
    ['', 'an empty value'],
    [',', 'a lone comma'],
    ['Basic {{basic2}}, Bearer x', 'two schemes in one header'],
  ];
}

export const authorizationValue = (rng: Prng): [string, string] => rng.pick(authorizationValues(rng));

export function pathVariant(rng: Prng, path: string): [string, string] {
  const segments = path.split('/');
  const letterAt = (text: string) => {
    const indexes = [...text].map((c, i) => (/[a-z]/.test(c) && !inPlaceholder(text, i) ? i : -1)).filter((i) => i >= 0);
    return indexes.length > 0 ? rng.pick(indexes) : -1;
  };
  return rng.pick<() => [string, string]>([
    () => [`${path}/`, 'trailing slash'],
    () => [`${path}//`, 'two trailing slashes'],
    () => [path.replace(/[a-z]+/g, (word) => (word.includes('{') ? word : word.toUpperCase())), 'upper case'],
    () => {
      const at = letterAt(path);
      return at === -1 ? [path, 'as is'] : [path.slice(0, at) + path[at]!.toUpperCase() + path.slice(at + 1), 'one upper-case letter'];
    },
    () => [`/${path}`, 'leading double slash'],
    () => [path.replaceAll('/', '//'), 'every slash doubled'],
    () => [`/.${path}`, 'a dot segment'],
    () => [`/x/..${path}`, 'a dot-dot segment'],
    () => [`${path}/.`, 'a trailing dot segment'],
    () => [`${path}/..${path}`, 'up and back down'],
    () => ['/' + segments.slice(1).join('%2F'), 'percent-encoded slashes'],
    () => ['/' + segments.slice(1).join('%2f'), 'lower-case percent-encoded slashes'],
    () => {
      const at = letterAt(path);
      return at === -1 ? [path, 'as is'] : [path.slice(0, at) + `%${path.charCodeAt(at).toString(16)}` + path.slice(at + 1), 'a percent-encoded letter'];
    },
    () => [`/%2e${path}`, 'an encoded dot segment'],
    () => [`/%2e%2e${path}`, 'an encoded dot-dot segment'],
    () => [`${path};jsessionid=x`, 'a matrix parameter'],
    () => [`${path}%00`, 'a trailing NUL'],
    () => [`${path}%`, 'a trailing %'],
    () => [`${path}%zz`, 'bad percent-encoding'],
    () => [`${path}%C0%AF`, 'an overlong slash'],
    () => [path.replaceAll('/', '\\'), 'backslashes'],
    () => [`${path}\xc3\xa9`, 'raw UTF-8 bytes'],
    () => [`${path}\xff`, 'a raw invalid byte'],
    () => [`${path}/${'a'.repeat(rng.pick([2000, 9000, 20_000]))}`, 'a long path'],
    () => [`${'/'.repeat(100)}${path}`, 'a hundred slashes'],
    () => [`http://{{host}}${path}`, 'absolute form'],
    () => [`http://evil.example${path}`, 'absolute form for another host'],
    () => [`${path}#fragment`, 'a fragment'],
    () => [`${path}%20`, 'a trailing encoded space'],
    () => [`${path}%09`, 'a trailing encoded tab'],
    () => [path.slice(1), 'no leading slash'],
    () => ['*', 'asterisk form'],
  ])();
}

function inPlaceholder(text: string, at: number): boolean {
  const open = text.lastIndexOf('{{', at);
  return open !== -1 && text.indexOf('}}', open) >= at;
}

