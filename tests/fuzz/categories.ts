import { anyEndpointDraft, decodeSafe, draftOf, KB, MB, postTemplate, splitParams, unknownDraft, withMethod, type Category, type Draft } from './draft.ts';
import { BODY_ENDPOINTS, FORM_TYPE, UNKNOWN_PATHS, type Endpoint, type Template } from './endpoints.ts';
import { authorizationValue, CONTENT_TYPES, garbageValue, GZIP_BOMB, mangleParams, ODD_METHODS, pathVariant, WEIRD_METHOD_TOKENS } from './malformed-values.ts';
import type { Prng } from './prng.ts';

/** One function per category of malformation: each turns a valid request into a malformed one. */

function methodCase(rng: Prng): Draft {
  const draft = rng.chance(0.08) ? unknownDraft(rng.pick(UNKNOWN_PATHS), 'GET') : anyEndpointDraft(rng);
  if (rng.chance(0.25)) {
    const token = rng.pick(WEIRD_METHOD_TOKENS);
    draft.labels.push(`method ${token.slice(0, 20)}`);
    return withMethod(draft, token);
  }
  const method = rng.pick(ODD_METHODS.filter((m) => !draft.served.includes(m) || m === 'OPTIONS'));
  draft.labels.push(`method ${method}`);
  if (method === 'OPTIONS' && rng.chance(0.5)) {
    draft.headers.push(['Origin', rng.pick(['http://localhost:8080', 'null', 'https://evil.example'])], ['Access-Control-Request-Method', rng.pick(['POST', 'GET', 'DELETE'])]);
    draft.labels.push('CORS preflight');
  }
  if (method === 'CONNECT') draft.path = rng.chance(0.5) ? draft.path : '{{host}}';
  return withMethod(draft, method);
}

function contentTypeCase(rng: Prng): Draft {
  const draft = rng.chance(0.85) ? anyEndpointDraft(rng, postTemplate) : anyEndpointDraft(rng);
  if (draft.body === null) {
    draft.body = 'a=b';
    draft.method = rng.chance(0.5) ? draft.method : 'POST';
  }
  if (rng.chance(0.15)) {
    const [first, second] = rng.chance(0.5) ? [FORM_TYPE, 'application/json'] : ['application/json', FORM_TYPE];
    draft.contentType = null;
    draft.headers.push(['Content-Type', first], ['Content-Type', second]);
    draft.labels.push(`two content types (${first}, ${second})`);
    return draft;
  }
  const type = rng.pick(CONTENT_TYPES);
  draft.contentType = type;
  draft.labels.push(type === null ? 'no content type' : `content type ${JSON.stringify(type.slice(0, 60))}`);
  return draft;
}

function bodyCase(rng: Prng): Draft {
  const draft = anyEndpointDraft(rng, postTemplate);
  const changes = rng.int(1, 3);
  for (let i = 0; i < changes; i += 1) {
    const { text, label } = mangleParams(rng, draft.body);
    draft.body = text;
    draft.labels.push(label);
  }
  return draft;
}

function jsonFormCase(rng: Prng): Draft {
  const draft = anyEndpointDraft(rng, rng.chance(0.85) ? postTemplate : () => true);
  const params = Object.fromEntries(splitParams(draft.body ?? draft.query ?? 'a=b').map(([name, value = '']) => [decodeSafe(name!), decodeSafe(value)]));
  const json = rng.weighted<() => [string, string]>([
    [() => [JSON.stringify(params), 'a JSON object'], 4],
    [() => [JSON.stringify([params]), 'a JSON array'], 1],
    [() => [JSON.stringify(Object.fromEntries(Object.entries(params).map(([k, v]) => [k, [v, v]]))), 'JSON with array values'], 1],
    [() => [JSON.stringify(Object.fromEntries(Object.entries(params).map(([k, v]) => [k, { value: v }]))), 'JSON with object values'], 1],
    [() => [`${'['.repeat(5000)}${']'.repeat(5000)}`, 'deeply nested JSON'], 1],
    [() => ['{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}', 'JSON with __proto__'], 1],
    [() => [JSON.stringify(params).slice(0, -3), 'truncated JSON'], 1],
    [() => ['{"a":1e99999,"b":-0,"c":12345678901234567890123}', 'JSON with odd numbers'], 1],
    [() => ['null', 'JSON null'], 1],
    [() => ['"a string"', 'a JSON string'], 1],
  ])();
  const [body, what] = json;
  const asForm = rng.chance(0.35);
  draft.body = body;
  draft.contentType = asForm ? FORM_TYPE : rng.pick(['application/json', 'application/json; charset=utf-8', 'application/merge-patch+json', 'text/json']);
  if (draft.method === 'GET' && rng.chance(0.5)) draft.labels.push('on a GET');
  draft.labels.push(asForm ? `${what} sent as a form` : `${what} instead of a form`);
  return draft;
}

/** An over-size body on a body-taking endpoint: strict (413) with the endpoint's own content type, with or without parameters. */
export function oversizeDraft(endpoint: Endpoint, template: Template, size: number, chunked: boolean, contentType: string | null): Draft {
  const draft = draftOf(endpoint, template);
  draft.body = `${draft.body ?? ''}&pad=`;
  draft.large = { size, chunked };
  draft.contentType = contentType;
  const own = contentType?.startsWith(FORM_TYPE) ?? false;
  draft.oversize = own ? 'strict' : 'loose';
  draft.labels.push(`${size >= MB ? `${(size / MB).toFixed(1)} MB` : `${Math.round(size / KB)} KB`} body${chunked ? ', chunked' : ' with Content-Length'}${contentType === FORM_TYPE ? '' : `, content type ${contentType ?? 'none'}`}`);
  return draft;
}

function oversizeCase(rng: Prng): Draft {
  const endpoint = rng.pick(BODY_ENDPOINTS);
  const template = rng.pick(endpoint.templates.filter((t) => t.method === 'POST'));
  const size = rng.pick([57 * KB + rng.int(1, 2000), rng.int(60 * KB, 200 * KB), rng.int(MB + 1, 2 * MB), 512 * KB]);
  const type = rng.chance(0.75) ? FORM_TYPE : rng.pick(['application/json', 'text/plain', null, 'application/x-www-form-urlencoded; charset=utf-8']);
  return oversizeDraft(endpoint, template, size, rng.chance(0.5), type);
}

function framingCase(rng: Prng): Draft {
  const draft = rng.chance(0.8) ? anyEndpointDraft(rng, postTemplate) : anyEndpointDraft(rng);
  if (draft.body === null) draft.body = 'a=b';
  const body = draft.body;
  const op = rng.int(0, 15);
  switch (op) {
    case 0: {
      const missing = rng.int(1, 500);
      draft.framing = { kind: 'length', delta: missing };
      draft.after = rng.chance(0.5) ? 'end' : 'destroy';
      draft.labels.push(`Content-Length ${missing} more than the body, then ${draft.after === 'end' ? 'half-close' : 'drop'}`);
      break;
    }
    case 1: {
      const less = rng.int(1, Math.max(1, body.length));
      draft.framing = { kind: 'length', delta: -Math.min(less, body.length) };
      draft.labels.push(`Content-Length ${less} less than the body`);
      break;
    }
    case 2:
      draft.framing = { kind: 'chunked' };
      draft.headers.push(['Content-Length', String(body.length)]);
      draft.labels.push('both Content-Length and chunked');
      break;
    case 3:
      draft.framing = { kind: 'none' };
      draft.headers.push(['Content-Length', String(body.length)], ['Content-Length', String(body.length + rng.int(1, 9))]);
      draft.labels.push('two different Content-Lengths');
      break;
    case 4: {
      const value = rng.pick(['-1', 'abc', '1e3', ' 10', '0x10', '99999999999999999999', '', '+5', '5,5', '1 2']);
      draft.framing = { kind: 'none' };
      draft.headers.push(['Content-Length', value]);
      draft.labels.push(`Content-Length ${JSON.stringify(value)}`);
      break;
    }
    case 5: {
      const value = rng.pick(['gzip', 'chunked, gzip', 'identity', 'gzip, chunked', 'chunked, chunked', 'deflate', 'x-fuzz', 'Chunked', 'chunked;q=1']);
      draft.framing = { kind: 'none' };
      draft.headers.push(['Transfer-Encoding', value]);
      // coded as chunks whenever the value ends in chunked, as a server that takes the last coding would read it
      if (/chunked$/i.test(value)) draft.body = `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
      draft.labels.push(`Transfer-Encoding ${value}`);
      break;
    }
    case 6: {
      // [body, complete]: a server may wait for the rest of an incomplete one, so the client half-closes
      const [broken, complete] = rng.pick<[string, boolean]>([
        [`zz\r\n${body}\r\n0\r\n\r\n`, true],
        [`${body.length.toString(16)};${'x'.repeat(rng.int(1, 5000))}\r\n${body}\r\n0\r\n\r\n`, true],
        [`${body.length.toString(16)}\r\n${body}0\r\n\r\n`, true],
        [`-1\r\n${body}\r\n0\r\n\r\n`, true],
        // a chunk of 2^64 - 1 bytes is valid syntax: the server waits for it
        [`ffffffffffffffff\r\n${body}`, false],
        [`${(body.length + 5).toString(16)}\r\n${body}\r\n0\r\n\r\n`, false],
        [`${body.length.toString(16)}\r\n${body}\r\n`, false],
      ]);
      draft.framing = { kind: 'none' };
      draft.headers.push(['Transfer-Encoding', 'chunked']);
      draft.body = broken;
      draft.after = complete && rng.chance(0.5) ? 'wait' : 'end';
      draft.labels.push(`broken chunked encoding${draft.after === 'end' ? ', then half-close' : ''}`);
      break;
    }
    case 7:
      draft.framing = { kind: 'none' };
      draft.headers.push(['Transfer-Encoding', 'chunked']);
      draft.body = `${body.length.toString(16)}\r\n${body}\r\n`;
      draft.after = 'end';
      draft.labels.push('chunked without the last chunk, then half-close');
      break;
    case 8: {
      const value = rng.pick(['100-continue', 'garbage', '100-continue, x', '']);
      draft.headers.push(['Expect', value]);
      draft.labels.push(`Expect ${JSON.stringify(value)}`);
      break;
    }
    case 9:
    case 10: {
      const value = rng.pick(['gzip', 'deflate', 'br', 'zstd', 'x-fuzz', 'identity', 'gzip, gzip', 'GZIP', 'compress']);
      draft.headers.push(['Content-Encoding', value]);
      draft.labels.push(`Content-Encoding ${value} over a plain body`);
      break;
    }
    case 11: {
      // a valid gzip stream that expands far beyond any body limit
      draft.headers.push(['Content-Encoding', 'gzip']);
      draft.body = GZIP_BOMB;
      draft.labels.push('gzip body expanding to 4 MB');
      break;
    }
    case 12:
      draft.method = 'GET';
      draft.labels.push('GET with a body');
      break;
    case 13:
      draft.method = rng.pick(['GET', 'POST']);
      draft.framing = { kind: 'chunked' };
      draft.labels.push(`${draft.method} with a chunked body`);
      break;
    case 14:
      draft.version = 'HTTP/1.0';
      draft.framing = { kind: 'none' };
      draft.auto.connection = false;
      draft.after = 'end';
      draft.labels.push('HTTP/1.0 body without Content-Length, ended by half-close');
      break;
    default:
      draft.framing = { kind: 'chunked' };
      draft.labels.push('chunked body');
      break;
  }
  return draft;
}

function authorizationCase(rng: Prng): Draft {
  const protocol = rng.chance(0.8);
  const draft = anyEndpointDraft(rng, (endpoint) => (protocol ? endpoint.family === 'json' : endpoint.family !== 'json'));
  draft.headers = draft.headers.filter(([name]) => name !== 'Authorization');
  if (rng.chance(0.1)) {
    draft.headers.push(['Authorization', 'Basic {{basic2}}'], ['Authorization', 'Bearer {{accessToken}}']);
    draft.labels.push('two Authorization headers');
    return draft;
  }
  const [value, label] = authorizationValue(rng);
  draft.headers.push(['Authorization', value]);
  draft.labels.push(label);
  if (draft.body !== null && rng.chance(0.2)) {
    draft.body += '&client_id=someone-else&client_secret=x';
    draft.labels.push('and client credentials in the body');
  }
  return draft;
}

function headerCase(rng: Prng): Draft {
  const draft = rng.chance(0.1) ? unknownDraft(rng.pick(UNKNOWN_PATHS), 'GET') : anyEndpointDraft(rng);
  const op = rng.int(0, 11);
  const push = (name: string, value: string, label: string) => {
    draft.headers.push([name, value]);
    draft.labels.push(label);
  };
  switch (op) {
    case 0: {
      draft.auto.host = false;
      if (rng.chance(0.15)) {
        draft.labels.push('no Host');
        break;
      }
      if (rng.chance(0.3)) {
        draft.headers.push(['Host', '{{host}}']);
        draft.labels.push('a good Host and');
      }
      const host = rng.pick(['', 'exa mple', '[::1', 'a'.repeat(2000), '{{host}}:80', 'localhost', 'user@host', 'h\xe9st', '{{host}}, evil.example', 'evil.example', '256.256.256.256', '*']);
      push('Host', host, `Host ${JSON.stringify(host.slice(0, 30))}`);
      break;
    }
    case 1:
      push(
        rng.pick(['X-Forwarded-For', 'X-Forwarded-Proto', 'X-Forwarded-Host', 'Forwarded', 'X-Real-IP']),
        rng.pick(['', 'garbage', '1.2.3.4, 5.6.7.8', '::1', 'https', 'evil.example', 'for=;proto=', '999.1.1.1', 'a'.repeat(5000), '\xff']),
        'forwarding headers',
      );
      break;
    case 2: {
      const id = rng.pick(['', 'a'.repeat(65), 'x y', '<script>', '\xff', 'a'.repeat(8000)]);
      draft.auto.requestId = false;
      push('X-Request-Id', id, `X-Request-Id ${JSON.stringify(id.slice(0, 20))}`);
      break;
    }
    case 3: {
      const accept = rng.pick([
        '',
        '*/*',
        'text/html',
        'application/json',
        'application/json;q=0, text/html',
        'text/html;q=0, application/json',
        'text/html;q=garbage',
        'x'.repeat(4000),
        '*/*;q=0',
        'image/png',
        ',,,,',
        'text/*;level=1;q=0.5',
        'application/*',
        'text/html, application/json',
        'application/json, text/html',
        ';q=1',
        'text/html;q=2',
      ]);
      push('Accept', accept, `Accept ${JSON.stringify(accept.slice(0, 40))}`);
      break;
    }
    case 4:
      push(rng.pick(['Accept-Language', 'Accept-Encoding', 'Accept-Charset']), rng.pick(['', '*;q=garbage', 'br, gzip, zstd, x', 'x'.repeat(3000), ',;,;', 'en-US;q=0.5,zz', '\xff']), 'odd Accept-* header');
      break;
    case 5:
      push('Origin', rng.pick(['null', 'http://localhost:8080', 'https://evil.example', 'garbage', 'http://', 'x'.repeat(3000), 'http://localhost:8080/path', '*']), 'an Origin');
      break;
    case 6:
      push(rng.pick(['User-Agent', 'Referer']), rng.pick(['', 'x'.repeat(rng.int(4000, 12_000)), '\x80\x81\xfe\xff', 'Mozilla/5.0 (\xe9)', 'javascript:alert(1)', '() { :; }; echo vulnerable']), 'odd User-Agent or Referer');
      break;
    case 7: {
      const count = rng.pick([100, 500, 1500]);
      for (let i = 0; i < count; i += 1) draft.headers.push([`X-Fuzz-${i}`, 'v']);
      draft.labels.push(`${count} extra headers`);
      break;
    }
    case 8: {
      const size = rng.pick([8000, 15_000, 17_000, 40_000]);
      push(`X-Big`, 'b'.repeat(size), `a ${size}-byte header`);
      break;
    }
    case 9: {
      const [name, value] = rng.pick<[string, string]>([
        ['Range', 'bytes=0-10'],
        ['Range', 'bytes=garbage'],
        ['If-None-Match', '*'],
        ['If-Modified-Since', 'garbage'],
        ['Cache-Control', 'no-cache, max-age=-1'],
        ['Upgrade', 'websocket'],
        ['Upgrade', 'h2c'],
        ['TE', 'trailers'],
        ['X-HTTP-Method-Override', 'DELETE'],
        ['Content-Language', '\xff'],
        ['Pragma', 'x'],
        ['Proxy-Authorization', 'Basic x'],
        ['Max-Forwards', '-1'],
        ['Via', '1.1 x'],
        ['Content-Range', 'bytes 0-1/2'],
        ['Content-MD5', 'x'],
        ['Trailer', 'X'],
      ]);
      push(name, value, `${name}: ${value}`);
      if (name === 'Upgrade') draft.auto.connection = false;
      if (name === 'Upgrade') draft.headers.push(['Connection', 'Upgrade']);
      break;
    }
    case 10: {
      const value = rng.pick(['keep-alive', 'close, close', 'TE, close', 'Upgrade, close', 'garbage', '']);
      draft.auto.connection = false;
      push('Connection', value, `Connection ${JSON.stringify(value)}`);
      break;
    }
    default: {
      const name = rng.pick(['X_Under_Score', 'x-UPPER-lower', 'X'.repeat(1000), 'X-Empty', 'Content-Type', 'Cookie']);
      push(name, name === 'X-Empty' ? '' : rng.chance(0.5) ? 'v' : garbageValue(rng).replace(/[\r\n\x00]/g, ''), `header ${name.slice(0, 20)}`);
    }
  }
  return draft;
}

function cookieCase(rng: Prng): Draft {
  const draft = anyEndpointDraft(rng, (endpoint, template) => rng.chance(0.85) ? (template.headers ?? []).some(([name]) => name === 'Cookie') : endpoint.family === 'page');
  const current = draft.headers.find(([name]) => name === 'Cookie')?.[1] ?? '';
  draft.headers = draft.headers.filter(([name]) => name !== 'Cookie');
  const [value, label] = rng.pick<[string, string]>([
    [`${current}; big=${'c'.repeat(rng.int(4000, 14_000))}`, 'a huge cookie'],
    [`big=${'c'.repeat(20_000)}`, 'a cookie over the header limit'],
    [Array.from({ length: rng.pick([200, 800]) }, (_, i) => `c${i}=v`).join('; '), 'hundreds of cookies'],
    [';;;', 'only separators'],
    ['=', 'a lone ='],
    ['=value', 'a nameless cookie'],
    ['name', 'a valueless cookie'],
    ['a=b;c', 'a half cookie'],
    [' ; ; ', 'blank cookies'],
    ['a="quoted', 'an unterminated quote'],
    ['_session=%zz; _session.sig=%zz', 'bad percent-encoding in the session cookie'],
    ['_session=%E0%A4%A; _session.sig=%', 'truncated percent-encoding in the session cookie'],
    ['postern.csrf=%zz; postern.csrf.sig=%zz', 'bad percent-encoding in the CSRF cookie'],
    ['_interaction=%; _interaction.sig=%', 'bad percent-encoding in the interaction cookie'],
    [`${current}; _session=%zz`, 'a second, broken session cookie'],
    [current.replace(/\.sig=[^;]*/g, '.sig=AAAA'), 'every signature wrong'],
    [current.replace(/(^|; )([^.=;]+)=([^;]*)/g, '$1$2=x$3'), 'every value changed'],
    [current.replace(/; [^;]*\.sig=[^;]*/g, ''), 'no signatures'],
    [`${current}; ${current}`, 'every cookie twice'],
    [`${current}; _session=\xe9\xff`, 'odd bytes in a cookie'],
    ['{{publicCookies}}', "another browser's cookies"],
    ['{{consentCookies}}; {{loginCookies}}', 'two browsers at once'],
    [`${current}; __proto__=x; constructor=y; toString=z`, 'prototype names'],
    [`_session=${'s'.repeat(5000)}; _session.sig=x`, 'a huge session cookie'],
  ]);
  draft.headers.push(['Cookie', value]);
  if (rng.chance(0.1)) draft.headers.push(['Cookie', current]);
  draft.labels.push(label);
  return draft;
}

function pathCase(rng: Prng): Draft {
  const draft = anyEndpointDraft(rng);
  const [path, label] = pathVariant(rng, draft.path);
  draft.path = path;
  draft.pathKind = 'variant';
  draft.labels.push(`path: ${label}`);
  return draft;
}

function queryCase(rng: Prng): Draft {
  const draft = rng.chance(0.05) ? unknownDraft(rng.pick(UNKNOWN_PATHS), 'GET') : anyEndpointDraft(rng);
  const op = rng.int(0, 4);
  if (op <= 1) {
    const changes = rng.int(1, 3);
    for (let i = 0; i < changes; i += 1) {
      const { text, label } = mangleParams(rng, draft.query);
      draft.query = text;
      draft.labels.push(`query: ${label}`);
    }
  } else if (op === 2) {
    const raw = rng.pick([
      '%',
      '%zz=1',
      'a=%E0%A4%A',
      'a[]=1&a[]=2',
      'a[b][c]=1',
      '=',
      '&&&',
      '=&=',
      '__proto__[polluted]=1',
      'constructor[prototype][polluted]=1',
      '%00',
      ';',
      'a=1;b=2',
      'a==b',
      '+++',
      '%EF%BF%BF',
      'request=%7B%22a%22%3A1%7D',
      'request=eyJhbGciOiJub25lIn0.eyJhIjoxfQ.',
      'request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Ax',
      'response_mode=web_message',
      'response_mode=form_post',
      'prompt=none&max_age=-1',
      'claims=%7B%22id_token%22%3A%7B%22x%22%3Anull%7D%7D',
      'claims=%7Bbad',
      'ui_locales=%FF',
      'a=\xc3\xa9',
      'a=\xff',
    ]);
    draft.query = draft.query !== null && rng.chance(0.6) ? `${draft.query}&${raw}` : raw;
    draft.labels.push(`query ${JSON.stringify(raw)}`);
  } else if (op === 3) {
    const size = rng.pick([2000, 8000, 14_000, 20_000]);
    draft.query = `${draft.query ?? 'a=1'}&${rng.chance(0.5) ? 'a=1&'.repeat(size / 4) : `x=${'A'.repeat(size)}`}`;
    draft.labels.push(`a ${size}-byte query`);
  } else {
    // the form's parameters on the query string as well (or instead)
    const params = draft.body ?? 'grant_type=client_credentials';
    draft.query = params;
    if (rng.chance(0.5)) {
      draft.body = draft.body === null ? null : '';
      draft.labels.push('body parameters in the query instead');
    } else draft.labels.push('body parameters in the query too');
  }
  return draft;
}

function syntaxCase(rng: Prng): Draft {
  const draft = anyEndpointDraft(rng);
  const line = (method: string, target: string, version = 'HTTP/1.1') => `${method} ${target} ${version}`;
  const common = 'Host: {{host}}\r\nX-Request-Id: {{requestId}}\r\nConnection: close';
  const end = '\r\n\r\n';
  const target = draft.path + (draft.query === null ? '' : `?${draft.query}`);
  const [head, label, after] = rng.pick<[string, string, Draft['after']]>([
    [`${line(draft.method, target)}\n${common.replaceAll('\r\n', '\n')}${end}`, 'bare LF line ends', 'wait'],
    [`${draft.method}  ${target}  HTTP/1.1\r\n${common}${end}`, 'extra spaces in the request line', 'wait'],
    [`${line(draft.method, target, 'HTTP/1.0')}\r\n${common}${end}`, 'HTTP/1.0', 'wait'],
    [`${draft.method} ${target}\r\n`, 'HTTP/0.9 style request line', 'end'],
    [`${line(draft.method, target, 'HTTP/2.0')}\r\n${common}${end}`, 'HTTP/2.0 in the request line', 'wait'],
    [`${line(draft.method, target, 'HTTP/1.2')}\r\n${common}${end}`, 'HTTP/1.2', 'wait'],
    [`${line(draft.method, target, 'HTTP/9.9')}\r\n${common}${end}`, 'HTTP/9.9', 'wait'],
    [`${line(draft.method, target, 'http/1.1')}\r\n${common}${end}`, 'lower-case protocol', 'wait'],
    [`${line(draft.method, target, 'HTTP/1.1 extra')}\r\n${common}${end}`, 'a word after the version', 'wait'],
    [`${line(draft.method, target)}\r\n${common}\r\nFoo${end}`, 'a header without a colon', 'wait'],
    [`${line(draft.method, target)}\r\n${common}\r\nHost : x${end}`, 'a space before the colon', 'wait'],
    [`${line(draft.method, target)}\r\n${common}\r\nX-A: a\r\n folded${end}`, 'an obs-folded header', 'wait'],
    [`${line(draft.method, target)}\r\n${common}\r\nFo(o: x${end}`, 'a bad header name', 'wait'],
    [`${line(draft.method, target)}\r\n${common}\r\n: x${end}`, 'an empty header name', 'wait'],
    [`${line(draft.method, target)}\r\n${common}\r\nX-A: a\rb${end}`, 'a lone CR in a header', 'wait'],
    [`${line(draft.method, target)}\r\n${common}\r\nX-A: a\x00b${end}`, 'a NUL in a header', 'wait'],
    [`${line(draft.method, target)}\r\n${common}\r\nX-A: \x01\x02${end}`, 'control bytes in a header', 'wait'],
    [`${line(draft.method, target)}\r\n${common}\r\n`, 'no blank line, then half-close', 'end'],
    [`\r\n\r\n${line(draft.method, target)}\r\n${common}${end}`, 'blank lines before the request', 'wait'],
    [`${rng.bytes(rng.int(5, 300)).replace(/\r\n\r\n/g, '')}`, 'random bytes', 'end'],
    ['\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', 'a TLS ClientHello', 'end'],
    ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'the HTTP/2 preface', 'end'],
    [`${line(draft.method, target)}\r\nHost: {{host}}\r\nHost: {{host}}\r\nX-Request-Id: {{requestId}}\r\nConnection: close${end}`, 'two Host headers', 'wait'],
    [`${line(draft.method, target)}\r\nX-Request-Id: {{requestId}}\r\nConnection: close${end}`, 'no Host header', 'wait'],
    [`${line(draft.method, target)}\r\n${common}\r\n${'X-Many: y\r\n'.repeat(2500).trimEnd()}${end}`, '2,500 headers', 'wait'],
  ]);
  draft.rawHead = head;
  draft.body = null;
  draft.contentType = null;
  draft.after = after;
  draft.labels.push(label);
  return draft;
}

export function disconnectDraft(draft: Draft, mode: number): Draft {
  const body = draft.body ?? 'a=b';
  switch (mode) {
    case 0:
      draft.rawHead = `${draft.method} ${draft.path} HTTP/1.1\r\nHost: {{host}}\r\nX-Request-Id: {{requestId}}\r\nX-Partial: ab`;
      draft.body = null;
      draft.contentType = null;
      draft.after = 'destroy';
      draft.labels.push('dropped in the middle of the headers');
      // the head is cut: no blank line may follow it
      draft.framing = { kind: 'none' };
      break;
    case 1:
      draft.method = draft.served.includes('POST') ? 'POST' : draft.method;
      draft.body = '';
      draft.contentType = FORM_TYPE;
      draft.framing = { kind: 'length', delta: 1000 };
      draft.after = 'destroy';
      draft.labels.push('dropped after the headers, before the body');
      break;
    case 2:
      draft.method = draft.served.includes('POST') ? 'POST' : draft.method;
      draft.body = body;
      draft.contentType = FORM_TYPE;
      draft.framing = { kind: 'length', delta: 5000 };
      draft.after = 'destroy';
      draft.labels.push('dropped in the middle of the body');
      break;
    case 3:
      draft.method = draft.served.includes('POST') ? 'POST' : draft.method;
      draft.contentType = FORM_TYPE;
      draft.body = `${body.length.toString(16)}\r\n${body}\r\n`;
      draft.headers.push(['Transfer-Encoding', 'chunked']);
      draft.framing = { kind: 'none' };
      draft.after = 'destroy';
      draft.labels.push('dropped in the middle of a chunked body');
      break;
    case 4:
      draft.method = draft.served.includes('POST') ? 'POST' : draft.method;
      draft.body = body;
      draft.contentType = FORM_TYPE;
      draft.framing = { kind: 'length', delta: 5000 };
      draft.after = 'end';
      draft.labels.push('half-closed in the middle of the body');
      break;
    default:
      draft.after = 'destroy';
      draft.labels.push('dropped right after a whole request');
  }
  return draft;
}

function disconnectCase(rng: Prng): Draft {
  return disconnectDraft(anyEndpointDraft(rng), rng.int(0, 5));
}

/** Random changes to a valid request: a few of the above, and changes of its own. */
function mutationCase(rng: Prng): Draft {
  const draft = anyEndpointDraft(rng);
  const count = rng.int(1, 4);
  for (let i = 0; i < count; i += 1) {
    const op = rng.int(0, 15);
    switch (op) {
      case 0:
        draft.headers.splice(rng.int(0, Math.max(0, draft.headers.length - 1)), 1);
        draft.labels.push('a header dropped');
        break;
      case 1:
        draft.body = null;
        draft.labels.push('body dropped');
        break;
      case 2:
      case 3: {
        const inQuery = draft.body === null || rng.chance(0.3);
        const { text, label } = mangleParams(rng, inQuery ? draft.query : draft.body);
        if (inQuery) draft.query = text;
        else draft.body = text;
        draft.labels.push(`${inQuery ? 'query' : 'body'}: ${label}`);
        break;
      }
      case 4:
        withMethod(draft, draft.method === 'GET' ? 'POST' : 'GET');
        draft.labels.push(`method ${draft.method}`);
        break;
      case 5: {
        const source = draft.body ?? draft.query;
        if (source && source.length > 0) {
          const at = clearOfPlaceholders(source, rng.int(0, source.length - 1));
          const flipped = at >= source.length ? source : source.slice(0, at) + String.fromCharCode(source.charCodeAt(at) ^ (1 << rng.int(0, 7))) + source.slice(at + 1);
          if (draft.body !== null) draft.body = flipped;
          else draft.query = flipped;
          draft.labels.push('a bit flipped');
        }
        break;
      }
      case 6: {
        const swaps: Array<[RegExp, string]> = [
          [/\{\{accessToken\}\}/g, '{{idToken}}'],
          [/\{\{accessToken\}\}/g, '{{jwtAccessToken}}'],
          [/\{\{refreshToken2\}\}/g, '{{refreshToken}}'],
          [/\{\{code\}\}/g, '{{loginUid}}'],
          [/\{\{loginUid\}\}/g, '{{consentUid}}'],
          [/\{\{consentUid\}\}/g, '{{loginUid}}'],
          [/\{\{(\w+)Csrf\}\}/g, '{{publicCsrf}}'],
          [/\{\{basic2\}\}/g, '{{basic}}'],
          [/\{\{(\w+)\}\}/g, '{{$1}}x'],
          [/\{\{(\w+)\}\}/g, 'x{{$1}}'],
          [/\{\{verifier\}\}/g, '{{challenge}}'],
        ];
        const [pattern, replacement] = rng.pick(swaps);
        const apply = (text: string | null) => (text === null ? null : text.replace(pattern, replacement));
        draft.body = apply(draft.body);
        draft.query = apply(draft.query);
        draft.path = apply(draft.path)!;
        draft.headers = draft.headers.map(([name, value]) => [name, apply(value)!]);
        draft.labels.push(`values swapped (${pattern.source} → ${replacement})`);
        break;
      }
      case 7:
        if (draft.body !== null) {
          draft.body = draft.body.slice(0, rng.int(0, draft.body.length));
          draft.labels.push('body cut short');
        }
        break;
      case 8:
        if (draft.body !== null) {
          draft.body = `${draft.body}&${draft.body}`;
          draft.labels.push('body repeated');
        }
        break;
      case 9: {
        const changed = contentTypeCase(rng);
        draft.contentType = changed.contentType;
        draft.labels.push(...changed.labels.filter((l) => l.startsWith('content type') || l === 'no content type'));
        break;
      }
      case 10: {
        const [value, label] = authorizationValue(rng);
        draft.headers = draft.headers.filter(([name]) => name !== 'Authorization');
        draft.headers.push(['Authorization', value]);
        draft.labels.push(label);
        break;
      }
      case 11: {
        const [path, label] = pathVariant(rng, draft.path);
        draft.path = path;
        draft.pathKind = 'variant';
        draft.labels.push(`path: ${label}`);
        break;
      }
      case 12: {
        const source = draft.body ?? '';
        const at = clearOfPlaceholders(source, rng.int(0, source.length));
        draft.body = source.slice(0, at) + rng.bytes(rng.int(1, 16)) + source.slice(at);
        if (draft.contentType === null) draft.contentType = FORM_TYPE;
        draft.labels.push('random bytes inserted');
        break;
      }
      case 13:
        draft.headers.push(['Accept', rng.pick(['application/json', 'text/html', '*/*', 'image/*', 'text/html;q=0'])]);
        draft.labels.push('an Accept header');
        break;
      case 14: {
        const cookie = draft.headers.findIndex(([name]) => name === 'Cookie');
        if (cookie >= 0) {
          draft.headers.splice(cookie, 1);
          draft.labels.push('cookies dropped');
        } else {
          draft.headers.push(['Cookie', rng.pick(['{{accountCookies}}', '{{loginCookies}}', '{{consentCookies}}', '{{logoutCookies}}', '{{publicCookies}}'])]);
          draft.labels.push('cookies of another browser');
        }
        break;
      }
      default:
        draft.labels.push('as is');
    }
  }
  return draft;
}

/** `at`, or the first index after the {{placeholder}} it falls in: a placeholder must stay whole to be filled. */
function clearOfPlaceholders(text: string, at: number): number {
  const open = text.lastIndexOf('{{', at);
  const close = open === -1 ? -1 : text.indexOf('}}', open);
  return open !== -1 && close + 1 >= at ? close + 2 : at;
}

const RANDOM_CATEGORIES: ReadonlyArray<readonly [Category, (rng: Prng) => Draft, number]> = [
  ['method', methodCase, 7],
  ['content-type', contentTypeCase, 9],
  ['body', bodyCase, 12],
  ['json-form', jsonFormCase, 6],
  ['oversize', oversizeCase, 3],
  ['framing', framingCase, 8],
  ['authorization', authorizationCase, 8],
  ['headers', headerCase, 8],
  ['cookies', cookieCase, 7],
  ['path', pathCase, 8],
  ['query', queryCase, 8],
  ['syntax', syntaxCase, 4],
  ['disconnect', disconnectCase, 3],
  ['mutation', mutationCase, 22],
];

/** A category drawn by weight, and a malformed request of that category. */
export function randomDraft(rng: Prng): [Category, Draft] {
  const [category, make] = rng.weighted(RANDOM_CATEGORIES.map(([name, maker, weight]) => [[name, maker] as const, weight] as const));
  return [category, make(rng)];
}
