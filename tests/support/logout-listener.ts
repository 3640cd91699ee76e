import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** How the listener answers a logout token that validates. */
export type ListenerMode = 'accept' | 'hang' | 'redirect';

/**
 * An application's back-channel logout endpoint (OpenID Connect Back-Channel Logout 1.0 §2.6–2.8)
 * on a random loopback port. It validates each logout token exactly as the specification asks —
 * signature against the OP's JWKS, iss, aud, iat, exp, typ logout+jwt, the back-channel logout
 * event, sub and/or sid, no nonce, a jti not seen before — and answers 200, or 400 with the reason.
 * It can be stopped and started again on the same port: an application that is down for a while.
 */
export class LogoutListener {
  readonly accepted: JWTPayload[] = [];
  readonly rejected: string[] = [];
  /** every request that reached the listener, valid or not */
  requests = 0;
  mode: ListenerMode = 'accept';
  /** ms to wait before answering a token */
  delayMs = 0;
  /** where `redirect` mode sends the caller */
  redirectTo = 'http://127.0.0.1:9/elsewhere';
  readonly #seenJti = new Set<string>();
  readonly #jwks: ReturnType<typeof createRemoteJWKSet>;
  readonly #issuer: string;
  readonly #clientId: string;
  #server: Server | undefined;
  #port = 0;

  private constructor(issuer: string, jwksUri: string, clientId: string) {
    this.#issuer = issuer;
    this.#clientId = clientId;
    this.#jwks = createRemoteJWKSet(new URL(jwksUri));
  }

  static async start(options: { issuer: string; jwksUri: string; clientId: string }): Promise<LogoutListener> {
    const listener = new LogoutListener(options.issuer, options.jwksUri, options.clientId);
    await listener.up();
    return listener;
  }

  get uri(): string {
    return `http://127.0.0.1:${this.#port}/backchannel-logout`;
  }

  /** Listens (again, on the same port once it has had one). */
  async up(): Promise<void> {
    const server = createServer((request, response) => void this.#handle(request, response));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => resolve());
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Stops listening: connections are refused until `up()`. */
  async down(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    this.requests += 1;
    if (this.mode === 'hang') return;
    if (this.mode === 'redirect') {
      response.writeHead(302, { location: this.redirectTo }).end();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const verdict = await this.#validate(request, Buffer.concat(chunks).toString('utf8'));
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    response.setHeader('cache-control', 'no-store');
    if (typeof verdict === 'string') {
      this.rejected.push(verdict);
      response.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_request', error_description: verdict }));
      return;
    }
    this.accepted.push(verdict);
    response.writeHead(200).end();
  }

  /** The validated claims, or why the token is refused. */
  async #validate(request: IncomingMessage, body: string): Promise<JWTPayload | string> {
    if (request.method !== 'POST') return `method ${request.method}`;
    if (request.headers['content-type'] !== 'application/x-www-form-urlencoded') return `content-type ${request.headers['content-type']}`;
    const form = new URLSearchParams(body);
    const token = form.get('logout_token');
    if (!token || form.getAll('logout_token').length !== 1) return 'no single logout_token';
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#jwks, {
        issuer: this.#issuer,
        audience: this.#clientId,
        algorithms: ['RS256'],
        typ: 'logout+jwt',
        requiredClaims: ['iat', 'exp', 'jti', 'events'],
        maxTokenAge: '2 minutes',
      }));
    } catch (error) {
      return `token: ${(error as Error).message}`;
    }
    if (payload.sub === undefined && payload.sid === undefined) return 'neither sub nor sid';
    const events = payload.events as Record<string, unknown> | undefined;
    const event = events?.[BACKCHANNEL_LOGOUT_EVENT];
    if (typeof events !== 'object' || events === null || typeof event !== 'object' || event === null || Array.isArray(event)) return 'no back-channel logout event';
    if ('nonce' in payload) return 'a nonce';
    if (this.#seenJti.has(payload.jti!)) return `jti ${payload.jti} seen before`;
    this.#seenJti.add(payload.jti!);
    return payload;
  }
}
