import type { FuzzCase } from './cases.ts';
import { PARSED_METHODS } from './draft.ts';
import { header, type RawOutcome, type RawResponse } from './raw-http.ts';
import type { WireRequest } from './wire.ts';

export interface Result {
  fuzzCase: FuzzCase;
  wire: WireRequest;
  outcome: RawOutcome;
}

/** What the server's log says about one request: the status it logged, and its error lines. */
export interface ServerView {
  status?: number;
  errors: string[];
}

export type Rule = 'status >= 500' | 'no answer' | 'error logged' | 'unsupported method' | 'not served' | 'over-size body' | 'error format';

export interface Violation {
  rule: Rule;
  /** groups violations that look like one failure: the status and what was expected */
  key: string;
  route: string;
  method: string;
  message: string;
  result: Result;
  server: ServerView;
}

/** Reads the captured log lines: access lines and error lines, by request id. */
export function indexLog(lines: string[], ownPrefix: string): { byRequest: Map<string, ServerView>; unattributed: string[]; otherRequests: number } {
  const byRequest = new Map<string, ServerView>();
  const unattributed: string[] = [];
  let otherRequests = 0;
  const viewOf = (id: string) => {
    let view = byRequest.get(id);
    if (!view) byRequest.set(id, (view = { errors: [] }));
    return view;
  };
  for (const line of lines.join('').split('\n')) {
    if (line.trim() === '') continue;
    let entry: { level?: number; msg?: string; reqId?: string; status?: number; err?: { message?: string; stack?: string }; reason?: string; event?: string; description?: string };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    if (entry.msg === 'request' && entry.reqId) viewOf(entry.reqId).status = entry.status;
    if (entry.msg === 'request' && !entry.reqId?.startsWith(ownPrefix)) otherRequests += 1;
    if ((entry.level ?? 0) >= 50) {
      const where = entry.err?.stack?.split('\n').find((frame) => frame.includes('/src/') || frame.includes('node_modules'))?.trim();
      const text = [entry.msg, entry.err?.message ?? entry.reason ?? entry.description, where].filter(Boolean).join(' — ');
      if (entry.reqId) viewOf(entry.reqId).errors.push(text);
      else unattributed.push(text);
    }
  }
  return { byRequest, unattributed, otherRequests };
}

/** Does an Accept header let the server answer in `other` instead of `own`? When it asks for it at least as much, or refuses `own`. */
export function acceptsInstead(accept: string | undefined, own: 'json' | 'html', other: 'json' | 'html'): boolean {
  if (!accept) return false;
  const quality = (kind: 'json' | 'html') => {
    const [exact, wildcard] = kind === 'json' ? ['application/json', 'application/*'] : ['text/html', 'text/*'];
    let best = -1;
    let specificity = -1;
    for (const part of accept.split(',')) {
      const [type = '', ...params] = part.split(';').map((item) => item.trim().toLowerCase());
      const level = type === exact ? 3 : type === wildcard ? 2 : type === '*/*' ? 1 : 0;
      if (level === 0 || level < specificity) continue;
      const q = params.find((param) => param.startsWith('q='));
      const value = q === undefined ? 1 : Number(q.slice(2));
      specificity = level;
      best = Number.isNaN(value) ? 1 : value;
    }
    return Math.max(0, best);
  };
  const theirs = quality(other);
  const ours = quality(own);
  // a client that refuses the endpoint's own format may get the other one
  return ours === 0 || (theirs > 0 && theirs >= ours);
}

function requestHeader(fuzzCase: FuzzCase, name: string): string | undefined {
  const values = fuzzCase.headers.filter(([key]) => key.toLowerCase() === name).map(([, value]) => value);
  return values.length > 0 ? values.join(', ') : undefined;
}

const passedThroughApp = (response: RawResponse) => header(response, 'x-request-id') !== undefined;

/** Koa's own answer when no route took the request: 404 "Not Found", 405 or 501 in plain text. */
function routerRefused(response: RawResponse): boolean {
  if (response.status === 405 || response.status === 501) return true;
  return response.status === 404 && (header(response, 'content-type') ?? '').startsWith('text/plain') && response.body.toString('utf8') === 'Not Found';
}

function formatProblem(fuzzCase: FuzzCase, response: RawResponse): string | undefined {
  const type = (header(response, 'content-type') ?? '').toLowerCase();
  const accept = requestHeader(fuzzCase, 'accept');
  const isJson = type.startsWith('application/json');
  const isHtml = type.startsWith('text/html');
  if (fuzzCase.family === 'json') {
    if (isHtml && acceptsInstead(accept, 'json', 'html')) return undefined;
    if (!isJson) return `${type || 'no content type'} instead of OAuth JSON`;
    try {
      const body = JSON.parse(response.body.toString('utf8')) as { error?: unknown; error_description?: unknown };
      if (typeof body.error !== 'string' || typeof body.error_description !== 'string') return 'JSON without error and error_description';
    } catch {
      return 'a body that is not JSON';
    }
    return undefined;
  }
  if (fuzzCase.family === 'page') {
    if (isJson && acceptsInstead(accept, 'html', 'json')) return undefined;
    if (!isHtml) return `${type || 'no content type'} instead of an HTML page`;
  }
  return undefined;
}

/** Every rule a result breaks, the most serious first. */
export function judge(result: Result, server: ServerView): Violation[] {
  const { fuzzCase, outcome } = result;
  const found: Violation[] = [];
  const route = fuzzCase.pathKind === 'unknown' ? '(unknown paths)' : fuzzCase.route;
  const methodKey = PARSED_METHODS.has(fuzzCase.method) ? fuzzCase.method : 'other method';
  const add = (rule: Rule, key: string, message: string) => found.push({ rule, key, route, method: methodKey, message, result, server });

  const answered = outcome.kind === 'response' ? outcome.response.status : undefined;
  if ((answered ?? 0) >= 500 || (server.status ?? 0) >= 500) {
    // the server's own log counts too: a client that has gone (or got the parser's 400) sees nothing of it
    const status = (answered ?? 0) >= 500 ? answered : server.status;
    const seen = answered === undefined ? 'in the server log; the client had gone' : answered < 500 ? `in the server log; the client got ${answered}` : 'answered';
    // 501 is the router's answer to a method it does not know, the same on every route
    add('status >= 500', status === 501 ? `501 (${fuzzCase.category})` : `${status} on ${route} (${fuzzCase.category})`, `${status} ${seen}`);
  }
  if (outcome.kind === 'no-response' && fuzzCase.after === 'wait') {
    add('no answer', `${outcome.reason} on ${methodKey}`, `${outcome.reason}: ${outcome.detail}`);
  }
  if (server.errors.length > 0) {
    add('error logged', `${server.errors[0]!.split(' — ').slice(0, 2).join(' — ')}`, server.errors.join(' | '));
  }
  if (outcome.kind !== 'response') return found;
  const { response } = outcome;
  const parserRefused = !passedThroughApp(response) && [400, 413, 414, 431].includes(response.status);
  // a request refused for its method is not also judged on its body size or error format
  const beforeMethodRules = found.length;

  if (fuzzCase.pathKind === 'canonical' && !parserRefused) {
    const allow = header(response, 'allow');
    if (fuzzCase.method === 'OPTIONS') {
      const listed = Boolean(allow) || header(response, 'access-control-allow-methods') !== undefined;
      if (!((response.status >= 200 && response.status < 300) || response.status === 405) || !listed) {
        add('unsupported method', `OPTIONS → ${response.status}${listed ? '' : ' without Allow'}`, `OPTIONS answered ${response.status}, Allow: ${allow ?? '(none)'}`);
      }
    } else if (PARSED_METHODS.has(fuzzCase.method) && fuzzCase.method !== 'CONNECT' && !fuzzCase.served.includes(fuzzCase.method)) {
      if (response.status !== 405 || !allow) {
        add('unsupported method', `→ ${response.status}${response.status === 405 ? ' without Allow' : ''}`, `expected 405 with Allow, got ${response.status}, Allow: ${allow ?? '(none)'}`);
      }
    }
  }
  if (fuzzCase.pathKind === 'canonical' && fuzzCase.served.includes(fuzzCase.method) && !parserRefused && routerRefused(response)) {
    add('not served', `${methodKey} ${route} → ${response.status}`, `${fuzzCase.method} ${route} answered the router's ${response.status}`);
  }
  const methodProblem = found.length > beforeMethodRules;
  if (fuzzCase.oversize === 'strict' && response.status !== 413 && !methodProblem) {
    add('over-size body', `→ ${response.status}`, `expected 413, got ${response.status}`);
  }
  if (fuzzCase.oversize === 'loose' && (response.status < 400 || response.status >= 500) && !methodProblem) {
    add('over-size body', `another content type → ${response.status}`, `expected a 4xx, got ${response.status}`);
  }
  if (response.status >= 400 && fuzzCase.pathKind === 'canonical' && fuzzCase.method !== 'HEAD' && passedThroughApp(response) && !methodProblem) {
    const problem = formatProblem(fuzzCase, response);
    if (problem) add('error format', `${response.status}, ${problem}`, problem);
  }
  return found;
}

/** How a result counts in the statistics: "404", "no answer (reset)", or "dropped (server: 400)" when the client went away on purpose. */
export function statusKey(result: Result, server: ServerView): string {
  const { outcome } = result;
  if (outcome.kind === 'response') return String(outcome.response.status);
  if (result.fuzzCase.after !== 'wait') return `dropped${server.status ? ` (server: ${server.status})` : ''}`;
  return `no answer (${outcome.reason})`;
}
