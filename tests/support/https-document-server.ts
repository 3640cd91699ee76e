import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface DocumentRoute {
  status?: number;
  headers?: Record<string, string>;
  body?: string | ((origin: string) => string);
  /** ms before answering: longer than the fetch's timeout makes it a hung server */
  delayMs?: number;
}

export interface DocumentServer {
  /** https://localhost:<port> */
  origin: string;
  port: number;
  /** PEM of the self-signed certificate (localhost and 127.0.0.1), for the fetch to trust */
  caFile: string;
  routes: Map<string, DocumentRoute>;
  /** requests received per path */
  hits: Map<string, number>;
  close(): Promise<void>;
}

/**
 * An https server on loopback with a throwaway self-signed certificate (made with openssl), serving
 * what each test puts in `routes`: client ID metadata documents, redirects, oversized or hung answers.
 */
export async function startDocumentServer(): Promise<DocumentServer> {
  const dir = await mkdtemp(join(tmpdir(), 'postern-docs-'));
  const keyFile = join(dir, 'key.pem');
  const caFile = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', caFile, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  const routes = new Map<string, DocumentRoute>();
  const hits = new Map<string, number>();
  let origin = '';
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer({ key: await readFile(keyFile), cert: await readFile(caFile) }, (request, response) => {
    const path = new URL(request.url ?? '/', 'https://localhost').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const route = routes.get(path);
    const answer = () => {
      if (!route) {
        response.writeHead(404).end();
        return;
      }
      const body = typeof route.body === 'function' ? route.body(origin) : (route.body ?? '');
      response.writeHead(route.status ?? 200, { 'content-type': 'application/json', ...route.headers }).end(body);
    };
    if (route?.delayMs) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer();
      }, route.delayMs);
      timers.add(timer);
    } else {
      answer();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  origin = `https://localhost:${port}`;
  return {
    origin,
    port,
    caFile,
    routes,
    hits,
    async close() {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
