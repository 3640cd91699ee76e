import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, expect } from 'vitest';
import { ADMIN_SCOPES, createAdminClient, type AdminScope } from '../../src/domain/admin-access.ts';
import type { BackendName } from '../support/backends.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

export const ALL_SCOPES: AdminScope[] = ADMIN_SCOPES.map(({ scope }) => scope);

export interface AdminAnswer {
  status: number;
  headers: Headers;
  body: any;
}

export interface AdminClient {
  clientId: string;
  clientSecret: string;
  token: string;
}

/** Registers an admin client (through the domain call `postern admin-client create` makes) and gets a token through a real client_credentials grant. */
export async function adminClient(server: TestServer, scopes?: AdminScope[]): Promise<AdminClient> {
  const created = await createAdminClient(server.services, { issuer: server.issuer, scopes, actor: 'cli' });
  const token = await clientCredentialsToken(server, created.client.clientId, created.clientSecret, created.scopes);
  return { clientId: created.client.clientId, clientSecret: created.clientSecret, token };
}

export async function clientCredentialsToken(server: Pick<TestServer, 'issuer'>, clientId: string, clientSecret: string, scopes: string[], resource = `${server.issuer}/admin/v1`): Promise<string> {
  const config = await oidc.discovery(new URL(server.issuer), clientId, clientSecret, oidc.ClientSecretBasic(clientSecret), { execute: [oidc.allowInsecureRequests] });
  const tokens = await oidc.clientCredentialsGrant(config, { scope: scopes.join(' '), resource });
  return tokens.access_token;
}

type Document = { paths: Record<string, Record<string, { operationId: string; responses: Record<string, { content?: Record<string, { schema: object }> }> }>> };

/** Checks answers against the document the server serves: the status is documented and the body matches its schema. */
export class ResponseChecker {
  readonly document: Document;
  readonly #ajv: Ajv2020;
  readonly #compiled = new Map<string, ValidateFunction>();

  constructor(document: Document) {
    this.document = document;
    this.#ajv = new Ajv2020({ allErrors: true, strict: false });
    addFormats.default(this.#ajv);
    this.#ajv.addSchema(document, 'doc');
  }

  check(operationId: string, answer: AdminAnswer): void {
    const found = Object.entries(this.document.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op }))).find(({ op }) => op.operationId === operationId);
    expect(found, `operation ${operationId} is documented`).toBeDefined();
    const response = found!.op.responses[String(answer.status)];
    expect(response, `${operationId} documents status ${answer.status}: ${JSON.stringify(answer.body)}`).toBeDefined();
    const [type, content] = Object.entries(response!.content ?? {})[0] ?? [];
    if (!type) return;
    expect(answer.headers.get('content-type') ?? '').toContain(type);
    const key = `${operationId}:${answer.status}`;
    let validate = this.#compiled.get(key);
    if (!validate) {
      validate = this.#ajv.compile(JSON.parse(JSON.stringify(content!.schema).replace(/"\$ref":"#\//g, '"$ref":"doc#/')));
      this.#compiled.set(key, validate);
    }
    expect(validate(answer.body), `${operationId} ${answer.status} matches the document: ${JSON.stringify(validate.errors)}`).toBe(true);
  }
}

export interface AdminHarness {
  server: TestServer;
  admin: AdminClient;
  checker: ResponseChecker;
  /** calls the API with the admin token (or `token`), checks the answer against the document */
  call(operationId: string, method: string, path: string, options?: { body?: unknown; token?: string | null; headers?: Record<string, string> }): Promise<AdminAnswer>;
}

export async function request(server: TestServer, method: string, path: string, options: { body?: unknown; token?: string | null; headers?: Record<string, string>; rawBody?: string | Uint8Array } = {}): Promise<AdminAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | Uint8Array | undefined = options.rawBody;
  if (options.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(options.body);
  }
  const response = await fetch(new URL(`/admin/v1${path}`, server.issuer), { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  if ((response.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text);
  return { status: response.status, headers: response.headers, body: parsed };
}

/** A server with an admin client holding every scope, for the enclosing describe block. */
export function useAdminServer(backend: BackendName, extraEnv: Record<string, string> = {}): AdminHarness {
  const state = {} as AdminHarness;
  beforeAll(async () => {
    state.server = await startTestServer(backend, extraEnv);
    state.admin = await adminClient(state.server);
    const document = await request(state.server, 'GET', '/openapi.json');
    state.checker = new ResponseChecker(document.body as Document);
    state.call = async (operationId, method, path, options = {}) => {
      const answer = await request(state.server, method, path, { ...options, token: options.token === null ? undefined : (options.token ?? state.admin.token) });
      state.checker.check(operationId, answer);
      return answer;
    };
  });
  afterAll(() => state.server?.close());
  return state;
}

export function expectProblem(answer: AdminAnswer, status: number, code?: string): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  expect(answer.headers.get('content-type')).toContain('application/problem+json');
  expect(answer.body).toMatchObject({ type: 'about:blank', status, ...(code ? { code } : {}) });
}
