import { METHODS } from 'node:http';
import { FORM_TYPE, TEMPLATES, type Endpoint, type Family, type Param, type Template } from './endpoints.ts';
import type { Prng } from './prng.ts';

/**
 * A request being built: a template's valid request, then changed by one or more malformations
 * (categories.ts) before it becomes a fixed FuzzCase (cases.ts).
 */
export type Category =
  | 'baseline'
  | 'method'
  | 'content-type'
  | 'body'
  | 'json-form'
  | 'oversize'
  | 'framing'
  | 'authorization'
  | 'headers'
  | 'cookies'
  | 'path'
  | 'query'
  | 'syntax'
  | 'disconnect'
  | 'mutation';

/** Whether the request-target is an endpoint's own path, a variant of it, or no endpoint at all. */
export type PathKind = 'canonical' | 'variant' | 'unknown';

/** How the body is framed: Content-Length of the body (plus `delta`), chunked, or not at all. */
export type Framing = { kind: 'length'; delta: number } | { kind: 'chunked' } | { kind: 'none' };

export interface Draft {
  route: string;
  family: Family;
  pathKind: PathKind;
  served: string[];
  method: string;
  path: string;
  /** encoded query without '?', null for none */
  query: string | null;
  version: string;
  headers: Array<[string, string]>;
  contentType: string | null;
  body: string | null;
  framing: Framing;
  large?: { size: number; chunked: boolean };
  rawHead?: string;
  after: 'wait' | 'end' | 'destroy';
  auto: { host: boolean; requestId: boolean; connection: boolean };
  labels: string[];
  oversize?: 'strict' | 'loose';
  baseline?: boolean;
}

/** Methods Node's HTTP parser accepts; any other token is refused by the parser with 400. */
export const PARSED_METHODS: ReadonlySet<string> = new Set(METHODS);

export const KB = 1024;
export const MB = 1024 * 1024;

const enc = (text: string) => encodeURIComponent(text).replace(/%7B%7B(\w+)%7D%7D/g, '{{$1}}');
export const encodeParams = (params: Param[]) => params.map(([name, value]) => `${enc(name)}=${enc(value)}`).join('&');

const servedMethods = (endpoint: Endpoint) => (endpoint.methods.includes('GET') ? [...endpoint.methods, 'HEAD'] : [...endpoint.methods]);

export function draftOf(endpoint: Endpoint, template: Template): Draft {
  return {
    route: endpoint.route,
    family: endpoint.family,
    pathKind: 'canonical',
    served: servedMethods(endpoint),
    method: template.method,
    path: template.path,
    query: template.query ? encodeParams(template.query) : null,
    version: 'HTTP/1.1',
    headers: [...(template.headers ?? [])],
    contentType: template.form ? FORM_TYPE : null,
    body: template.form ? encodeParams(template.form) : null,
    framing: { kind: 'length', delta: 0 },
    after: 'wait',
    auto: { host: true, requestId: true, connection: true },
    labels: [],
  };
}

export function unknownDraft(path: string, method: string): Draft {
  return {
    route: path,
    family: 'unknown',
    pathKind: 'unknown',
    served: [],
    method,
    path,
    query: null,
    version: 'HTTP/1.1',
    headers: [],
    contentType: method === 'POST' ? FORM_TYPE : null,
    body: method === 'POST' ? 'a=b' : null,
    framing: { kind: 'length', delta: 0 },
    after: 'wait',
    auto: { host: true, requestId: true, connection: true },
    labels: ['unknown path'],
  };
}

export function splitParams(text: string | null): string[][] {
  if (text === null || text === '') return [];
  return text.split('&').map((pair) => {
    const at = pair.indexOf('=');
    return at === -1 ? [pair] : [pair.slice(0, at), pair.slice(at + 1)];
  });
}
export const joinParams = (pairs: string[][]) => pairs.map((pair) => pair.join('=')).join('&');

export function decodeSafe(text: string): string {
  try {
    return decodeURIComponent(text).slice(0, 40);
  } catch {
    return text.slice(0, 40);
  }
}

export function anyEndpointDraft(rng: Prng, filter: (endpoint: Endpoint, template: Template) => boolean = () => true): Draft {
  const choices = TEMPLATES.filter(({ endpoint, template }) => filter(endpoint, template));
  const { endpoint, template } = rng.pick(choices);
  return draftOf(endpoint, template);
}

export const postTemplate = (_: Endpoint, template: Template) => template.method === 'POST';

export function withMethod(draft: Draft, method: string): Draft {
  draft.method = method;
  if (['POST', 'PUT', 'PATCH'].includes(method) && draft.body === null) {
    draft.body = 'a=b';
    draft.contentType = FORM_TYPE;
  }
  if (['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE'].includes(method) && draft.body !== null) {
    draft.body = null;
    draft.contentType = null;
  }
  return draft;
}

