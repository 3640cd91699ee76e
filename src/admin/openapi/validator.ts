import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { OpenApiDocument, OperationObject } from './document.ts';

export interface ValidationIssue {
  /** a JSON Pointer into the body (`/redirectUris/0`), or `query:limit` / `path:userId` / `header:If-Match` */
  pointer: string;
  message: string;
}

export interface DocumentedOperation {
  operationId: string;
  method: string;
  /** as the document writes it: `/users/{userId}` */
  path: string;
  operation: OperationObject;
  /** matches a request path below the prefix, capturing the path parameters in order */
  pattern: RegExp;
  pathNames: string[];
  validateParameters(input: { path: Record<string, string>; query: Record<string, unknown> }): { path: Record<string, unknown>; query: Record<string, unknown>; issues: ValidationIssue[] };
  /** undefined: the operation takes no body */
  validateBody: ((body: unknown) => ValidationIssue[]) | undefined;
}

const DOCUMENT_ID = 'postern-admin-openapi.json';

function ajvFor(document: OpenApiDocument, options: { coerceTypes: boolean }): Ajv2020 {
  // the document is added whole so that each operation's schemas resolve its #/components refs;
  // not strict: the document's own keywords (openapi, paths…) are not schema keywords
  const ajv = new Ajv2020({ allErrors: true, strict: false, coerceTypes: options.coerceTypes, useDefaults: options.coerceTypes });
  addFormats.default(ajv);
  ajv.addSchema(document as unknown as object, DOCUMENT_ID);
  return ajv;
}

function pointerEscape(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

function issuesOf(errors: ErrorObject[] | null | undefined, prefix: (instancePath: string) => string): ValidationIssue[] {
  return (errors ?? []).map((error) => {
    const field = error.keyword === 'required' ? `/${pointerEscape(String(error.params.missingProperty))}` : error.keyword === 'additionalProperties' ? `/${pointerEscape(String(error.params.additionalProperty))}` : '';
    const message = error.keyword === 'additionalProperties' ? 'is not a known field' : error.keyword === 'required' ? 'is required' : (error.message ?? 'is not valid');
    return { pointer: prefix(`${error.instancePath}${field}`), message };
  });
}

/** Every operation of the document, with validators compiled from its parameters and body schema. */
export function compileOperations(document: OpenApiDocument): DocumentedOperation[] {
  const bodies = ajvFor(document, { coerceTypes: false });
  const parameters = ajvFor(document, { coerceTypes: true });
  const operations: DocumentedOperation[] = [];
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const pathNames: string[] = [];
      const source = path.split('/').map((segment) => {
        const name = /^\{(\w+)\}$/.exec(segment)?.[1];
        if (!name) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        pathNames.push(name);
        return '([^/]+)';
      });
      const declared = (operation.parameters ?? []).filter((p) => p.in === 'path' || p.in === 'query');
      const objectSchema = (where: 'path' | 'query') => ({
        type: 'object',
        additionalProperties: false,
        required: declared.filter((p) => p.in === where && p.required).map((p) => p.name),
        properties: Object.fromEntries(declared.filter((p) => p.in === where).map((p) => [p.name, p.schema])),
      });
      const schemaOf = (where: 'path' | 'query'): ValidateFunction => parameters.compile(rebase(objectSchema(where)));
      const validatePath = schemaOf('path');
      const validateQuery = schemaOf('query');
      const bodySchema = operation.requestBody?.content['application/json']?.schema;
      const validateBody = bodySchema ? bodies.compile(rebase(bodySchema)) : undefined;
      operations.push({
        operationId: operation.operationId,
        method: method.toUpperCase(),
        path,
        operation,
        pattern: new RegExp(`^${source.join('/')}/?$`),
        pathNames,
        validateParameters(input) {
          const path = { ...input.path };
          const query = { ...input.query };
          const issues = [
            ...(validatePath(path) ? [] : issuesOf(validatePath.errors, (at) => `path:${at.slice(1)}`)),
            ...(validateQuery(query) ? [] : issuesOf(validateQuery.errors, (at) => `query:${at.slice(1)}`)),
          ];
          return { path, query, issues };
        },
        validateBody: validateBody
          ? (body) => (validateBody(body) ? [] : issuesOf(validateBody.errors, (at) => at || '/'))
          : undefined,
      });
    }
  }
  return operations;
}

/** A schema that refers into the document by `#/…` is compiled against the document added whole. */
function rebase(schema: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema).replace(/"\$ref":"#\//g, `"$ref":"${DOCUMENT_ID}#/`)) as Record<string, unknown>;
}
