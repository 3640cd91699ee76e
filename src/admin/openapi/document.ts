import { ADMIN_SCOPES } from '../../domain/admin-access.ts';
import { OPERATIONS, type OperationSpec } from './operations.ts';
import { SCHEMAS } from './schemas.ts';

export const ADMIN_PREFIX = '/admin/v1';

export type OpenApiDocument = {
  openapi: '3.1.0';
  info: Record<string, unknown>;
  servers: Array<{ url: string }>;
  paths: Record<string, Record<string, OperationObject>>;
  components: Record<string, unknown>;
} & Record<string, unknown>;

export interface OperationObject {
  operationId: string;
  summary: string;
  tags: string[];
  security?: Array<Record<string, string[]>>;
  parameters?: Array<{ name: string; in: 'path' | 'query' | 'header'; required?: boolean; description?: string; schema: Record<string, unknown> }>;
  requestBody?: { required: boolean; content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, { description: string; headers?: Record<string, unknown>; content?: Record<string, { schema: Record<string, unknown> }> }>;
}

const PROBLEM = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };
const problem = (description: string) => ({ description, content: PROBLEM });
const ETAG_HEADER = { ETag: { description: "the resource's version, for If-Match", schema: { type: 'string' } } };

function operationObject(spec: OperationSpec): OperationObject {
  const responses: OperationObject['responses'] = {};
  for (const [status, { description, schema, etag }] of Object.entries(spec.responses)) {
    responses[status] = {
      description,
      ...(etag ? { headers: ETAG_HEADER } : {}),
      ...(schema ? { content: { 'application/json': { schema: { $ref: `#/components/schemas/${schema}` } } } } : {}),
    };
  }
  if (spec.parameters?.length || spec.body) responses['400'] = problem('the request does not match this document');
  if (spec.scope) {
    responses['401'] = problem('no token, or not a valid admin API token');
    responses['403'] = problem(`the token lacks ${spec.scope}`);
    responses['429'] = problem('over the rate limit; see Retry-After');
  }
  if (spec.parameters?.some((p) => p.in === 'path') || spec.body) responses['404'] = problem('no such resource, or none of a name the body gives');
  if (spec.method !== 'get' && spec.scope) responses['409'] = problem('the change conflicts with what is stored');
  if (spec.body) {
    responses['413'] = problem('the body is too large');
    responses['415'] = problem('the body is not application/json');
  }
  if (spec.image) {
    responses['400'] = problem('the request does not match this document, or the image is empty');
    responses['413'] = problem(`the image is larger than ${spec.image.maxBytes / 1024} KiB`);
    responses['415'] = problem(`the body is not one of ${spec.image.types.join(', ')} (by its Content-Type and its bytes)`);
  }
  if (spec.ifMatch) {
    responses['412'] = problem('the resource changed since the ETag given in If-Match');
    responses['428'] = problem('If-Match is missing: send the ETag of the version the change is based on');
  }
  if (spec.scope) responses['503'] = problem('storage is unavailable; see Retry-After');
  const parameters: NonNullable<OperationObject['parameters']> = [...(spec.parameters ?? [])];
  if (spec.ifMatch) parameters.push({ name: 'If-Match', in: 'header', required: true, description: 'the ETag of the version the change is based on', schema: { type: 'string', minLength: 1, maxLength: 1000 } });
  return {
    operationId: spec.operationId,
    summary: spec.summary,
    tags: [spec.tag],
    security: spec.scope ? [{ adminToken: [spec.scope] }] : [],
    ...(parameters.length ? { parameters } : {}),
    ...(spec.body ? { requestBody: { required: true, content: { 'application/json': { schema: { $ref: `#/components/schemas/${spec.body}` } } } } } : {}),
    ...(spec.image ? { requestBody: { required: true, content: Object.fromEntries(spec.image.types.map((type) => [type, { schema: { description: 'the image file', maxLength: spec.image!.maxBytes } }])) } } : {}),
    responses,
  };
}

/** The OpenAPI 3.1 document of the admin API, for this issuer (its token endpoint and audience). */
export function adminDocument(issuer: string, audience: string): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const spec of OPERATIONS) (paths[spec.path] ??= {})[spec.method] = operationObject(spec);
  return {
    openapi: '3.1.0',
    info: {
      title: 'Postern admin API',
      version: '1',
      description: `Manage clients, users, roles, APIs, sessions and grants, and read audit events and signing keys. Call it with an access token from the client credentials grant at ${issuer}/token with resource=${audience} and the scopes each operation names. Errors are RFC 9457 problem details; lists are cursor-paginated; changes need If-Match with the ETag last read.`,
    },
    servers: [{ url: `${issuer}${ADMIN_PREFIX}` }],
    paths,
    components: {
      schemas: SCHEMAS,
      securitySchemes: {
        adminToken: {
          type: 'oauth2',
          description: `JWT access tokens for the audience ${audience}, from a client holding roles that give the admin scopes (postern admin-client create)`,
          flows: { clientCredentials: { tokenUrl: `${issuer}/token`, scopes: Object.fromEntries(ADMIN_SCOPES.map(({ scope, description }) => [scope, description])) } },
        },
      },
    },
  };
}
