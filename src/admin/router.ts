import { bodyParser } from '@koa/bodyparser';
import type { JWK } from 'jose';
import type { Context, Middleware } from 'koa';
import { adminApiIdentifier } from '../domain/admin-access.ts';
import { adminAuthentication, requireScope } from './authenticate.ts';
import { renderReferencePage } from './docs-page.ts';
import { auditAndKeyHandlers } from './handlers/audit-keys.ts';
import { clientHandlers } from './handlers/clients.ts';
import { logoutDeliveryHandlers } from './handlers/logout-deliveries.ts';
import { initialAccessTokenHandlers } from './handlers/initial-access-tokens.ts';
import { roleAndApiHandlers } from './handlers/roles-apis.ts';
import type { Handler, HandlerDependencies } from './handlers/types.ts';
import { userHandlers } from './handlers/users.ts';
import { ADMIN_PREFIX, adminDocument } from './openapi/document.ts';
import { compileOperations, type DocumentedOperation } from './openapi/validator.ts';
import { Problem, problemHandler } from './problem.ts';

export interface AdminApiOptions extends HandlerDependencies {
  issuer: string;
  /** the server's published signing keys, read on every call (they rotate) */
  publicJwks: () => JWK[];
}

const BODY_LIMIT = '64kb';

function pathParameters(operation: DocumentedOperation, path: string): Record<string, string> {
  const values = operation.pattern.exec(path)!.slice(1);
  try {
    return Object.fromEntries(operation.pathNames.map((name, index) => [name, decodeURIComponent(values[index]!)]));
  } catch {
    throw new Problem(400, 'validation_failed', 'A path segment is not valid percent-encoding.');
  }
}

/** Query parameters as the document declares them: each once. */
function queryParameters(ctx: Context): Record<string, unknown> {
  const query: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(ctx.query)) {
    if (Array.isArray(value)) throw new Problem(400, 'validation_failed', `The query parameter ${name} is given more than once.`, { errors: [{ pointer: `query:${name}`, message: 'must be given once' }] });
    query[name] = value;
  }
  return query;
}

/** An image body, read up to `maxBytes` (413 past it); what it really is the domain reads from its bytes. */
async function readImage(ctx: Context, types: string[], maxBytes: number): Promise<{ bytes: Buffer; type: string }> {
  const encoding = ctx.get('content-encoding').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity') throw new Problem(415, 'unsupported_media_type', 'Send the body uncompressed.');
  const type = (ctx.get('content-type').split(';')[0] ?? '').trim().toLowerCase();
  if (!types.includes(type)) throw new Problem(415, 'unsupported_media_type', `Send the image as ${types.join(', ')}${type === 'image/svg+xml' ? ' (SVG is not accepted: it can carry script)' : ''}.`);
  const tooLarge = () => new Problem(413, 'payload_too_large', `The image is larger than ${maxBytes / 1024} KiB.`);
  if (Number(ctx.get('content-length')) > maxBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  return { bytes: Buffer.concat(chunks), type };
}

/**
 * The admin REST API under /admin/v1. Its OpenAPI document is the route table: every operation
 * in it is served by the handler named by its operationId, and nothing else is; each request's
 * parameters and body are checked against the operation's schemas before the handler runs.
 * Order per request: route (404, 405), token (401), scope (403), parameters and body (400, 415),
 * If-Match (428, 412 in the domain's transaction), handler. Every error is problem+json.
 */
export function adminApi(options: AdminApiOptions): Middleware {
  const audience = adminApiIdentifier(options.issuer);
  const document = adminDocument(options.issuer, audience);
  const operations = compileOperations(document);
  const referencePage = renderReferencePage(document);
  const handlers: Record<string, Handler> = {
    ...clientHandlers(options),
    ...userHandlers(options),
    ...roleAndApiHandlers(options),
    ...auditAndKeyHandlers(options),
    ...logoutDeliveryHandlers(options),
    ...initialAccessTokenHandlers(options),
    getOpenApiDocument: async () => ({ status: 200, body: document }),
    getReferencePage: async () => ({ status: 200, body: referencePage, type: 'html' }),
  };
  for (const { operationId } of operations) {
    if (!Object.hasOwn(handlers, operationId)) throw new TypeError(`admin API: no handler for the documented operation ${operationId}`);
  }
  for (const operationId of Object.keys(handlers)) {
    if (!operations.some((operation) => operation.operationId === operationId)) throw new TypeError(`admin API: handler ${operationId} is not in the document`);
  }
  const authenticate = adminAuthentication({ ...options.services, issuer: options.issuer, audience, publicJwks: options.publicJwks });
  const parseJson = bodyParser({ enableTypes: ['json'], jsonLimit: BODY_LIMIT, encoding: 'utf-8' });
  const problems = problemHandler();

  async function serve(ctx: Context): Promise<void> {
    ctx.set('Cache-Control', 'no-store');
    const path = ctx.path.slice(ADMIN_PREFIX.length) || '/';
    const routes = operations.filter((operation) => operation.pattern.test(path));
    if (routes.length === 0) throw new Problem(404, 'not_found', 'There is nothing at this address.');
    const allow = [...new Set(routes.flatMap(({ method }) => (method === 'GET' ? ['GET', 'HEAD'] : [method]))), 'OPTIONS'].join(', ');
    if (ctx.method === 'OPTIONS') {
      ctx.set('Allow', allow);
      ctx.status = 204;
      return;
    }
    const operation = routes.find(({ method }) => method === (ctx.method === 'HEAD' ? 'GET' : ctx.method));
    if (!operation) throw new Problem(405, 'method_not_allowed', `${ctx.method} is not supported here; use one of ${allow}.`, { headers: { Allow: allow } });

    const spec = operation.operation;
    const scope = spec.security?.[0]?.adminToken?.[0];
    const caller = scope ? await authenticate(ctx.get('authorization') || undefined) : undefined;
    if (caller && scope) requireScope(caller, scope);

    const parameters = operation.validateParameters({ path: pathParameters(operation, path), query: queryParameters(ctx) });
    if (parameters.issues.length > 0) throw new Problem(400, 'validation_failed', 'The request does not match the API document.', { errors: parameters.issues });

    let body: unknown;
    const imageTypes = spec.requestBody && !spec.requestBody.content['application/json'] ? Object.keys(spec.requestBody.content) : undefined;
    if (imageTypes) body = await readImage(ctx, imageTypes, Number(Object.values(spec.requestBody!.content)[0]!.schema.maxLength));
    else if (operation.validateBody) {
      const encoding = ctx.get('content-encoding').trim().toLowerCase();
      if (encoding !== '' && encoding !== 'identity') throw new Problem(415, 'unsupported_media_type', 'Send the body uncompressed.');
      if (!ctx.is('application/json')) throw new Problem(415, 'unsupported_media_type', 'Send the body as application/json.');
      try {
        await parseJson(ctx, async () => undefined);
      } catch (error) {
        const status = Number((error as { status?: unknown }).status);
        if (status === 413) throw new Problem(413, 'payload_too_large', `The body is larger than ${BODY_LIMIT}.`, { cause: error });
        if (status === 400) throw new Problem(400, 'invalid_body', 'The body is not a JSON object or array.', { cause: error });
        throw error;
      }
      body = (ctx.request as { body?: unknown }).body;
      const issues = operation.validateBody(body);
      if (issues.length > 0) throw new Problem(400, 'validation_failed', 'The body does not match the API document.', { errors: issues });
    }

    const answer = await handlers[operation.operationId]!({
      path: parameters.path,
      query: parameters.query,
      body,
      ifMatch: ctx.get('if-match') || undefined,
      caller,
      ip: ctx.ip,
      userAgent: ctx.get('user-agent') || undefined,
    });
    ctx.status = answer.status;
    if (answer.etag) ctx.set('ETag', answer.etag);
    if (answer.body !== undefined) {
      ctx.body = answer.body;
      if (answer.type) ctx.type = answer.type;
    }
  }

  return async (ctx, next) => {
    if (ctx.path !== ADMIN_PREFIX && !ctx.path.startsWith(`${ADMIN_PREFIX}/`)) return next();
    await problems(ctx, () => serve(ctx));
  };
}
