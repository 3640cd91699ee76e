import { randomUUID } from 'node:crypto';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { request, useAdminServer } from './support.ts';

type Schema = Record<string, any>;

/**
 * Made from the document the server serves: for every operation that takes a body, a valid body,
 * then many bodies the operation's schema refuses (each checked against the schema here first).
 * Each must be answered 400 problem+json, never 5xx, and nothing else.
 */
describe.each(availableBackends())('admin API: generated invalid bodies on %s', (backend) => {
  // hundreds of requests a minute: the limit is tested in skeleton.test.ts
  const t = useAdminServer(backend, { POSTERN_RATE_LIMIT_ADMIN: 'off' });

  it('answers every invalid body of every documented schema with 400 problem+json', async () => {
    const document = t.checker.document as unknown as { paths: Record<string, Record<string, Schema>>; components: { schemas: Record<string, Schema> } };
    const resolve = (schema: Schema): Schema => (typeof schema.$ref === 'string' ? resolve(document.components.schemas[schema.$ref.split('/').pop()!]!) : schema);

    function sample(input: Schema): unknown {
      const schema = resolve(input);
      if (schema.oneOf) return sample(schema.oneOf[0]);
      if (schema.enum) return schema.enum[0];
      switch (schema.type) {
        case 'string':
          return ({ uri: 'https://example.test/api', email: 'someone@example.test', uuid: randomUUID(), 'date-time': new Date().toISOString() } as Record<string, string>)[schema.format] ?? 'abc1';
        case 'integer':
          return schema.minimum ?? 1;
        case 'boolean':
          return true;
        case 'array':
          return schema.minItems ? [sample(schema.items)] : [];
        case 'object': {
          const properties = Object.keys(schema.properties ?? {});
          const chosen = new Set<string>(schema.required ?? []);
          if (schema.minProperties && chosen.size < schema.minProperties) chosen.add(properties[0]!);
          return Object.fromEntries([...chosen].map((name) => [name, sample(schema.properties[name])]));
        }
        default:
          return null;
      }
    }

    /** Values a property's schema refuses (some may happen to be allowed; the schema decides below). */
    function wrongValues(input: Schema): unknown[] {
      const schema = resolve(input);
      const values: unknown[] = [null, {}, [], 12.5, -1, 'text', true, '', '\u0000', 'a'.repeat(3000)];
      if (schema.maxLength) values.push('x'.repeat(schema.maxLength + 1));
      if (schema.maxItems && schema.items) values.push(Array.from({ length: schema.maxItems + 1 }, () => sample(schema.items)));
      if (schema.items) values.push([null], [{}], [12]);
      if (schema.minimum !== undefined) values.push(schema.minimum - 1);
      if (schema.maximum !== undefined) values.push(schema.maximum + 1);
      if (schema.enum) values.push(`${schema.enum[0]}-not`);
      if (schema.properties) values.push({ unexpected: 1 }, Object.fromEntries(Object.keys(schema.properties).map((name) => [name, null])));
      return values;
    }

    const ajv = new Ajv2020({ allErrors: true, strict: false });
    addFormats.default(ajv);
    ajv.addSchema(document, 'doc');
    const rebased = (schema: Schema) => JSON.parse(JSON.stringify(schema).replace(/"\$ref":"#\//g, '"$ref":"doc#/'));

    let sent = 0;
    const withBody = Object.entries(document.paths).flatMap(([path, methods]) =>
      // JSON bodies; the image operation's refusals are in client-presentation.test.ts
      Object.entries(methods).filter(([, operation]) => operation.requestBody?.content['application/json']).map(([method, operation]) => ({ path, method, operation })),
    );
    expect(withBody.map(({ operation }) => operation.operationId).sort()).toEqual(['createApi', 'createClient', 'createInitialAccessToken', 'createRole', 'createUser', 'setUserPassword', 'updateApi', 'updateClient', 'updateRole', 'updateUser']);
    for (const { path, method, operation } of withBody) {
      const concrete = path.replace(/\{(\w+)\}/g, (_match, name: string) => {
        const parameter = operation.parameters.find((p: Schema) => p.name === name);
        return encodeURIComponent(String(sample(parameter.schema)));
      });
      const bodySchema = operation.requestBody.content['application/json'].schema;
      const validate = ajv.compile(rebased(bodySchema));
      const base = sample(bodySchema) as Record<string, unknown>;
      expect(validate(base), `${operation.operationId}: the generated base body is valid ${JSON.stringify(validate.errors)}`).toBe(true);

      const candidates: unknown[] = [null, [], 'a string', 42, true, [base], {}, { ...base, unexpected: 'field' }];
      const properties = resolve(bodySchema).properties as Record<string, Schema>;
      for (const [name, propertySchema] of Object.entries(properties)) {
        for (const value of wrongValues(propertySchema)) candidates.push({ ...base, [name]: value });
      }
      for (const name of resolve(bodySchema).required ?? []) {
        const { [name]: _dropped, ...rest } = base;
        candidates.push(rest);
      }
      const invalid = candidates.filter((candidate) => !validate(candidate));
      expect(invalid.length, operation.operationId).toBeGreaterThanOrEqual(Object.keys(properties).length);
      for (const body of invalid) {
        const answer = await request(t.server, method.toUpperCase(), concrete, { token: t.admin.token, body, headers: { 'if-match': '*' } });
        const label = `${operation.operationId} ${JSON.stringify(body).slice(0, 200)}`;
        expect(answer.status, `${label} → ${JSON.stringify(answer.body)}`).toBe(400);
        expect(answer.headers.get('content-type'), label).toContain('application/problem+json');
        expect(['validation_failed', 'invalid_body'], label).toContain(answer.body.code);
        t.checker.check(operation.operationId, answer);
        sent += 1;
      }
    }
    expect(sent).toBeGreaterThan(300);
  });

  it('answers an oversized or non-JSON body with 413/415 problem+json, and nothing written', async () => {
    const before = (await request(t.server, 'GET', '/clients?limit=200', { token: t.admin.token })).body.items.length;
    const huge = await request(t.server, 'POST', '/clients', { token: t.admin.token, body: { name: 'x'.repeat(70_000), type: 'public' } });
    expect(huge.status).toBe(413);
    expect(huge.headers.get('content-type')).toContain('application/problem+json');
    const gzip = await request(t.server, 'POST', '/clients', { token: t.admin.token, rawBody: '{}', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } });
    expect(gzip.status).toBe(415);
    expect((await request(t.server, 'GET', '/clients?limit=200', { token: t.admin.token })).body.items.length).toBe(before);
  });
});
