/**
 * An MCP server protected by Postern: every request to /mcp carries a Postern JWT access token
 * (RFC 9068) for this server's own audience, verified offline against Postern's JWKS. It serves
 * its protected-resource metadata (RFC 9728), and answers a request without a usable token with
 * 401 and `WWW-Authenticate: Bearer resource_metadata="…"`, which is how an MCP client finds
 * Postern, registers itself and signs its user in.
 *
 * Run: POSTERN_ISSUER=http://localhost:3000 MCP_PORT=3001 node examples/mcp-server/server.ts
 * (register the API first: postern api create --identifier http://localhost:3001/mcp --name "MCP tools" --scope mcp:tools)
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { pathToFileURL } from 'node:url';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify } from 'jose';

export const MCP_SCOPE = 'mcp:tools';
const MCP_PATH = '/mcp';
const METADATA_PATH = '/.well-known/oauth-protected-resource';

export interface McpExampleOptions {
  /** Postern's issuer */
  issuer: string;
  port: number;
  host?: string;
  /** this server's public origin; default http://<host>:<port> */
  origin?: string;
}

export interface RunningMcpExample {
  origin: string;
  /** the resource identifier (RFC 8707) Postern issues this server's tokens for */
  resource: string;
  close(): Promise<void>;
}

class Refused extends Error {
  readonly status: 401 | 403;
  readonly error: 'invalid_token' | 'insufficient_scope' | undefined;
  constructor(status: 401 | 403, error: 'invalid_token' | 'insufficient_scope' | undefined, message: string) {
    super(message);
    this.status = status;
    this.error = error;
  }
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > 1024 * 1024) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return chunks.length > 0 ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
}

/** One MCP server per request (the SDK's stateless pattern); its tool tells who the token is for. */
function mcpServerFor(): McpServer {
  const server = new McpServer({ name: 'postern-example', version: '1.0.0' });
  server.registerTool('whoami', { description: 'Who the access token was issued to, and for what' }, async (extra) => {
    const auth = extra.authInfo!;
    return { content: [{ type: 'text', text: JSON.stringify({ sub: auth.extra?.sub, client_id: auth.clientId, scopes: auth.scopes }) }] };
  });
  return server;
}

export async function startMcpExample(options: McpExampleOptions): Promise<RunningMcpExample> {
  const host = options.host ?? '127.0.0.1';
  const issuer = options.issuer.replace(/\/+$/, '');
  let origin = options.origin ?? '';
  let resource = '';
  const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as { jwks_uri: string };
  const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));

  const authenticate = async (request: IncomingMessage): Promise<AuthInfo> => {
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(request.headers.authorization ?? '');
    if (!match) throw new Refused(401, undefined, 'no access token');
    try {
      const { payload } = await jwtVerify(match[1]!, jwks, { issuer, audience: resource, typ: 'at+jwt', algorithms: ['RS256'] });
      const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
      if (!scopes.includes(MCP_SCOPE)) throw new Refused(403, 'insufficient_scope', `the token lacks ${MCP_SCOPE}`);
      return { token: match[1]!, clientId: String(payload.client_id ?? ''), scopes, expiresAt: payload.exp, resource: new URL(resource), extra: { sub: payload.sub } };
    } catch (error) {
      if (error instanceof Refused) throw error;
      if (error instanceof joseErrors.JOSEError) throw new Refused(401, 'invalid_token', 'the access token is not valid here');
      throw error;
    }
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? '/', origin).pathname;
    if (request.method === 'GET' && (path === METADATA_PATH || path === `${METADATA_PATH}${MCP_PATH}`)) {
      response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' });
      response.end(JSON.stringify({ resource, authorization_servers: [issuer], scopes_supported: [MCP_SCOPE, 'offline_access'], bearer_methods_supported: ['header'], resource_name: 'Postern example MCP server' }));
      return;
    }
    if (path !== MCP_PATH) {
      response.writeHead(404).end();
      return;
    }
    let auth: AuthInfo;
    try {
      auth = await authenticate(request);
    } catch (error) {
      if (!(error instanceof Refused)) throw error;
      const parameters = [error.error ? `error="${error.error}"` : '', error.status === 403 ? `scope="${MCP_SCOPE}"` : '', `resource_metadata="${origin}${METADATA_PATH}${MCP_PATH}"`].filter(Boolean);
      response.writeHead(error.status, { 'www-authenticate': `Bearer ${parameters.join(', ')}`, 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: error.error ?? 'invalid_request', error_description: error.message }));
      return;
    }
    const body = request.method === 'POST' ? await readJson(request) : undefined;
    const server = mcpServerFor();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    response.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(Object.assign(request, { auth }), response, body);
  };

  const http: Server = createServer((request, response) => {
    handle(request, response).catch(() => {
      if (!response.headersSent) response.writeHead(400, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: 'invalid_request' }));
    });
  });
  await new Promise<void>((resolve) => http.listen(options.port, host, resolve));
  const { port } = http.address() as { port: number };
  origin ||= `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  resource = `${origin}${MCP_PATH}`;
  return {
    origin,
    resource,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const issuer = process.env.POSTERN_ISSUER ?? 'http://localhost:3000';
  const example = await startMcpExample({ issuer, port: Number(process.env.MCP_PORT ?? 3001), host: process.env.MCP_HOST ?? '127.0.0.1', origin: process.env.MCP_ORIGIN });
  console.log(`MCP server at ${example.resource}, tokens from ${issuer}`);
}
