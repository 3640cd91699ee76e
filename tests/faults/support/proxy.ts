import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { now } from './processes.ts';

/**
 * The load balancer in front of the instances: a small round-robin HTTP proxy on loopback whose
 * address is the issuer every instance shares. It behaves like a plain L7 balancer with nginx's
 * defaults:
 *
 * - each request goes to the next instance, on a fresh upstream connection (no upstream
 *   keep-alive), so a retried request usually lands on another instance;
 * - an instance that refuses the connection gets nothing: the request, not yet sent, goes to the
 *   next one (and the instance is marked down until its health check passes again);
 * - an instance that fails a request it has accepted (reset, hang-up, truncated answer) makes the
 *   proxy drop the client's connection too, so the client sees exactly what the instance did —
 *   the proxy never answers for it and never retries a request that was sent;
 * - health: `GET /readyz` every 250 ms; 200 is ready, 404 (a build without the endpoint) counts as
 *   ready, anything else or no answer within 1 s is not. When no instance is ready the proxy
 *   tries them all (panic routing) rather than refusing everyone.
 */

export type ProxyEventKind = 'refused' | 'cut' | 'truncated' | 'no-backend' | 'client-aborted';

export interface ProxyEvent {
  at: number;
  backend: number;
  kind: ProxyEventKind;
  method: string;
  path: string;
  code?: string;
}

/** A request passed to an instance and not yet answered in full. */
export interface InFlight {
  backend: number;
  method: string;
  path: string;
  /** `grant_type` of a form body, when there is one */
  grantType: string | undefined;
  since: number;
}

export interface RoundRobinProxy {
  url: string;
  port: number;
  /** requests in flight to one backend now */
  inflight(index: number): InFlight[];
  /** called each time a request is passed to a backend, right after it was written */
  onForward(listener: (request: InFlight) => void): () => void;
  /** called each time a request passed to a backend is over: answered in full, cut or abandoned */
  onSettled(listener: (request: InFlight) => void): () => void;
  setBackends(urls: string[]): void;
  /** requests passed to each backend (by index), answered or not */
  sent: number[];
  events: ProxyEvent[];
  ready(index: number): boolean;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const kept: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (!HOP_BY_HOP.has(name) && value !== undefined) kept[name] = value;
  return kept;
}

function grantTypeOf(req: IncomingMessage, body: Buffer): string | undefined {
  if (!req.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) return undefined;
  return new URLSearchParams(body.toString('utf8')).get('grant_type') ?? undefined;
}

export async function startRoundRobinProxy(options: { healthPath?: string; healthIntervalMs?: number } = {}): Promise<RoundRobinProxy> {
  const healthPath = options.healthPath ?? '/readyz';
  let backends: { host: string; port: number }[] = [];
  let healthy: boolean[] = [];
  const sent: number[] = [];
  const events: ProxyEvent[] = [];
  const inflight = new Set<InFlight>();
  const listeners = new Set<(request: InFlight) => void>();
  const settledListeners = new Set<(request: InFlight) => void>();
  let next = 0;

  const order = (): number[] => {
    const all = backends.map((_, index) => (next + index) % backends.length);
    next = (next + 1) % Math.max(1, backends.length);
    const ready = all.filter((index) => healthy[index]);
    return ready.length > 0 ? ready : all;
  };

  const forward = (index: number, req: IncomingMessage, res: ServerResponse, body: Buffer) =>
    new Promise<'refused' | 'done'>((resolveOutcome) => {
      const target = backends[index]!;
      const tracked: InFlight = { backend: index, method: req.method ?? '', path: req.url ?? '', grantType: grantTypeOf(req, body), since: now() };
      let settled = false;
      const settle = (outcome: 'refused' | 'done') => {
        settled = true;
        inflight.delete(tracked);
        if (outcome === 'done') for (const listener of settledListeners) listener(tracked);
        resolveOutcome(outcome);
      };
      let connected = false;
      let answered = false;
      const event = (kind: ProxyEventKind, code?: string) => events.push({ at: now(), backend: index, kind, method: req.method ?? '', path: req.url ?? '', code });
      const upstream = request({
        host: target.host,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...endToEnd(req.headers), 'content-length': String(body.length), connection: 'close' },
        agent: false,
      });
      upstream.on('socket', (socket) => socket.once('connect', () => (connected = true)));
      upstream.on('response', (answer) => {
        answered = true;
        res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
        answer.pipe(res);
        answer.on('close', () => {
          if (settled) return;
          if (!answer.complete) {
            event('truncated');
            req.socket.destroy();
          }
          settle('done');
        });
      });
      upstream.on('error', (error: NodeJS.ErrnoException) => {
        if (settled) return;
        if (!connected) {
          event('refused', error.code);
          settle('refused');
          return;
        }
        if (res.destroyed) return settle('done');
        event(answered ? 'truncated' : 'cut', error.code);
        req.socket.destroy();
        settle('done');
      });
      // the client gave up (its timeout): drop the upstream request, as nginx does by default
      res.on('close', () => {
        if (settled || res.writableFinished) return;
        event('client-aborted');
        upstream.destroy();
        settle('done');
      });
      sent[index] = (sent[index] ?? 0) + 1;
      inflight.add(tracked);
      upstream.end(body, () => {
        if (connected) for (const listener of listeners) listener(tracked);
      });
    });

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    for (const index of order()) {
      if ((await forward(index, req, res, body)) === 'done') return;
      healthy[index] = false;
    }
    events.push({ at: now(), backend: -1, kind: 'no-backend', method: req.method ?? '', path: req.url ?? '' });
    res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":"bad_gateway","error_description":"no instance accepted the connection"}');
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const checking = new Set<number>();
  const check = (index: number) => {
    const target = backends[index];
    if (!target || checking.has(index)) return;
    checking.add(index);
    const probe = request({ host: target.host, port: target.port, path: healthPath, agent: false, timeout: 1_000 }, (answer) => {
      answer.resume();
      answer.on('end', () => {
        if (backends[index] === target) healthy[index] = answer.statusCode === 200 || answer.statusCode === 404;
        checking.delete(index);
      });
    });
    probe.on('timeout', () => probe.destroy(new Error('health check timed out')));
    probe.on('error', () => {
      if (backends[index] === target) healthy[index] = false;
      checking.delete(index);
    });
    probe.end();
  };
  const health = setInterval(() => backends.forEach((_, index) => check(index)), options.healthIntervalMs ?? 250);

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    sent,
    events,
    inflight: (index) => [...inflight].filter((request) => request.backend === index),
    onForward(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onSettled(listener) {
      settledListeners.add(listener);
      return () => settledListeners.delete(listener);
    },
    setBackends(urls) {
      backends = urls.map((url) => ({ host: new URL(url).hostname, port: Number(new URL(url).port) }));
      healthy = backends.map(() => true);
      next = 0;
    },
    ready: (index) => healthy[index] === true,
    async close() {
      clearInterval(health);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
