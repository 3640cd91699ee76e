import { disconnectDraft, oversizeDraft, randomDraft } from './categories.ts';
import { draftOf, KB, splitParams, unknownDraft, withMethod, type Category, type Draft, type Framing, type PathKind } from './draft.ts';
import { BODY_ENDPOINTS, ENDPOINTS, FORM_TYPE, TEMPLATES, UNKNOWN_PATHS, type Family } from './endpoints.ts';
import { authorizationValues } from './malformed-values.ts';
import { Prng } from './prng.ts';

/**
 * The fuzz cases: each is a pure function of (seed, number). The first few hundred are systematic
 * and the same for every seed: every template once as it is, every endpoint × unsupported methods,
 * dropped connections and bad Host headers, every body-taking endpoint × over-size bodies (57 KB
 * and 1.1 MB, with Content-Length and chunked), every parameter of every template with a NUL, as
 * an array and as an object. The rest are drawn at random from the categories in categories.ts,
 * a fifth of them random mutations of valid requests.
 */
export interface FuzzCase {
  id: number;
  category: Category;
  /** what is wrong with the request, in a few words */
  label: string;
  route: string;
  family: Family;
  pathKind: PathKind;
  /** methods the route serves (GET brings HEAD); empty for unknown paths */
  served: string[];
  method: string;
  /** the request-target, with {{placeholders}} */
  target: string;
  version: string;
  /** header lines as sent (Host, X-Request-Id, Connection and framing are added unless turned off) */
  headers: Array<[string, string]>;
  auto: { host: boolean; requestId: boolean; connection: boolean };
  /** latin1 text (one character per byte), with {{placeholders}}; null for no body */
  body: string | null;
  framing: Framing;
  /** a body too large to hold: `body` (or nothing) then filler up to `size` bytes */
  large?: { size: number; chunked: boolean };
  /** bytes written as they are (placeholders filled) instead of a built head, blank line included if any */
  rawHead?: string;
  after: 'wait' | 'end' | 'destroy';
  /** 'strict' (the endpoint's own content type): must answer 413; 'loose' (another content type): any 4xx */
  oversize?: 'strict' | 'loose';
  /** the unmangled request */
  baseline?: boolean;
}

export function toCase(id: number, category: Category, draft: Draft): FuzzCase {
  const headers = [...draft.headers];
  if (draft.contentType !== null) headers.push(['Content-Type', draft.contentType]);
  return {
    id,
    category,
    label: draft.labels.join('; ') || 'as is',
    route: draft.route,
    family: draft.family,
    pathKind: draft.pathKind,
    served: draft.served,
    method: draft.method,
    target: draft.path + (draft.query === null ? '' : `?${draft.query}`),
    version: draft.version,
    headers,
    auto: draft.auto,
    body: draft.body,
    framing: draft.framing,
    large: draft.large,
    rawHead: draft.rawHead,
    after: draft.after,
    oversize: draft.oversize,
    baseline: draft.baseline,
  };
}

const BAD_HOSTS = ['256.256.256.256', 'exa mple', '[::1', 'h\xe9st', '{{host}}:99999', `${'a'.repeat(300)}.example`, '', 'user@{{host}}', '{{host}}/x', '-'];

/** Every parameter of a template (query and body) changed one at a time by `change`. */
function perParameter(endpoint: (typeof TEMPLATES)[number]['endpoint'], template: (typeof TEMPLATES)[number]['template'], change: (name: string, value: string) => string[][], label: string): Array<[Category, Draft]> {
  const drafts: Array<[Category, Draft]> = [];
  for (const where of ['query', 'body'] as const) {
    const pairs = splitParams(draftOf(endpoint, template)[where]);
    pairs.forEach(([name = '', value = ''], index) => {
      const draft = draftOf(endpoint, template);
      draft[where] = [...pairs.slice(0, index), ...change(name, value), ...pairs.slice(index + 1)].map((pair) => pair.join('=')).join('&');
      draft.labels.push(`${where === 'query' ? 'query: ' : ''}${decodeURIComponent(name)} ${label}`);
      drafts.push([where === 'query' ? 'query' : 'body', draft]);
    });
  }
  return drafts;
}

/** The systematic cases, in a fixed order: they do not depend on the seed. */
function systematicDrafts(): Array<[Category, Draft]> {
  const drafts: Array<[Category, Draft]> = [];
  for (const { endpoint, template } of TEMPLATES) {
    const draft = draftOf(endpoint, template);
    draft.baseline = true;
    drafts.push(['baseline', draft]);
  }
  ENDPOINTS.forEach((endpoint, index) => {
    const template = endpoint.templates[0]!;
    const unsupported = ['TRACE', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PROPFIND', 'FOO', ...(endpoint.methods.includes('GET') ? [] : ['GET', 'HEAD']), ...(endpoint.methods.includes('POST') ? [] : ['POST'])];
    for (const method of unsupported) {
      const draft = withMethod(draftOf(endpoint, template), method);
      draft.labels.push(`method ${method}`);
      drafts.push(['method', draft]);
    }
    for (const mode of [0, 1, 2, 3, 4, 5]) drafts.push(['disconnect', disconnectDraft(draftOf(endpoint, template), mode)]);
    for (const host of [BAD_HOSTS[index % BAD_HOSTS.length]!, BAD_HOSTS[(index + 3) % BAD_HOSTS.length]!]) {
      const draft = draftOf(endpoint, template);
      draft.auto.host = false;
      draft.headers.push(['Host', host]);
      draft.labels.push(`Host ${JSON.stringify(host.slice(0, 30))}`);
      drafts.push(['headers', draft]);
    }
  });
  for (const endpoint of BODY_ENDPOINTS) {
    const template = endpoint.templates.find((t) => t.method === 'POST')!;
    for (const size of [57 * KB + 100, 1100 * KB]) {
      for (const chunked of [false, true]) drafts.push(['oversize', oversizeDraft(endpoint, template, size, chunked, FORM_TYPE)]);
    }
  }
  // every malformed Authorization on every protocol endpoint (the first template of each)
  for (const endpoint of ENDPOINTS.filter((e) => e.family === 'json' && e.methods.includes('POST'))) {
    const template = endpoint.templates.find((t) => t.method === 'POST')!;
    for (const [value, label] of authorizationValues(new Prng(0, 0))) {
      const draft = draftOf(endpoint, template);
      draft.headers = [...draft.headers.filter(([name]) => name !== 'Authorization'), ['Authorization', value]];
      draft.labels.push(label);
      drafts.push(['authorization', draft]);
    }
  }
  for (const { endpoint, template } of TEMPLATES) {
    // a NUL after a valid value gets as far as a lookup: PostgreSQL refuses NUL in text
    drafts.push(...perParameter(endpoint, template, (name, value) => [[name, `${value}%00x`]], 'with a NUL'));
    drafts.push(...perParameter(endpoint, template, (name, value) => [[`${name}[]`, value], [`${name}[]`, value]], 'as an array'));
    drafts.push(...perParameter(endpoint, template, (name, value) => [[`${name}[a]`, value]], 'as an object'));
  }
  for (const path of UNKNOWN_PATHS) {
    drafts.push(['method', unknownDraft(path, 'GET')]);
    const post = unknownDraft(path, 'POST');
    post.labels.push('POST');
    drafts.push(['method', post]);
  }
  return drafts;
}

export interface CaseSet {
  seed: number;
  cases: FuzzCase[];
}

/** `total` cases for `seed`: the systematic ones first, then random ones up to the total. */
export function generateCases(seed: number, total: number): CaseSet {
  const cases = systematicDrafts().map(([category, draft], index) => toCase(index, category, draft));
  for (let id = cases.length; id < total; id += 1) {
    const [category, draft] = randomDraft(new Prng(seed, id));
    cases.push(toCase(id, category, draft));
  }
  return { seed, cases };
}
