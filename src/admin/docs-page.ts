import { Eta } from 'eta';
import { fileURLToPath } from 'node:url';
import type { OpenApiDocument } from './openapi/document.ts';

const VIEWS = fileURLToPath(new URL('../../views/', import.meta.url));

type Schema = Record<string, unknown>;

/** A schema as a short type: `string (uri)`, `Client[]`, `string | null`. */
function typeOf(schema: Schema | undefined): string {
  if (!schema) return '';
  if (typeof schema.$ref === 'string') return schema.$ref.split('/').pop()!;
  if (Array.isArray(schema.oneOf)) return (schema.oneOf as Schema[]).map(typeOf).join(' | ');
  if (schema.type === 'array') return `${typeOf(schema.items as Schema)}[]`;
  const details = [schema.format, Array.isArray(schema.enum) ? (schema.enum as string[]).join(', ') : undefined].filter(Boolean);
  return `${String(schema.type ?? 'any')}${details.length ? ` (${details.join('; ')})` : ''}`;
}

interface SchemaView {
  name: string;
  description: string | undefined;
  properties: Array<{ name: string; type: string; required: boolean; description: string }>;
}

/**
 * The admin API's reference page for people: every operation with its scope, parameters, body
 * and answers, then every schema, server-rendered from the document (no script, the site's CSP).
 */
export function renderReferencePage(document: OpenApiDocument): string {
  const eta = new Eta({ views: VIEWS, autoEscape: true, cache: true });
  const schemas = (document.components.schemas ?? {}) as Record<string, Schema>;
  const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({
      id: operation.operationId,
      method: method.toUpperCase(),
      path: `${'/admin/v1'}${path}`,
      tag: operation.tags[0] ?? '',
      summary: operation.summary,
      scope: operation.security?.[0]?.adminToken?.[0],
      parameters: (operation.parameters ?? []).map((p) => ({ name: p.name, in: p.in, required: p.required === true, type: typeOf(p.schema), description: p.description ?? '' })),
      body: operation.requestBody ? typeOf(operation.requestBody.content['application/json']?.schema) : undefined,
      responses: Object.entries(operation.responses).map(([status, response]) => ({
        status,
        description: response.description,
        type: typeOf(Object.values(response.content ?? {})[0]?.schema),
      })),
    })),
  );
  const schemaViews: SchemaView[] = Object.entries(schemas).map(([name, schema]) => ({
    name,
    description: typeof schema.description === 'string' ? schema.description : undefined,
    properties: Object.entries((schema.properties ?? {}) as Record<string, Schema>).map(([property, value]) => ({
      name: property,
      type: typeOf(value),
      required: ((schema.required ?? []) as string[]).includes(property),
      description: typeof value.description === 'string' ? value.description : '',
    })),
  }));
  const security = (document.components.securitySchemes as { adminToken: { description: string; flows: { clientCredentials: { tokenUrl: string; scopes: Record<string, string> } } } }).adminToken;
  return eta.render('admin-docs', {
    title: String(document.info.title),
    description: String(document.info.description),
    tokenUrl: security.flows.clientCredentials.tokenUrl,
    scopes: Object.entries(security.flows.clientCredentials.scopes),
    tags: [...new Set(operations.map((operation) => operation.tag))].map((tag) => ({ tag, operations: operations.filter((operation) => operation.tag === tag) })),
    schemas: schemaViews,
  });
}
