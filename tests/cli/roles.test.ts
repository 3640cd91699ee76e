import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePermission } from '../../src/cli/commands/roles.ts';
import type { ResourceServer } from '../../src/domain/resource-servers.ts';
import { availableBackends } from '../support/backends.ts';
import { createSandbox, errorLines, parseJson, type Sandbox } from './support/cli.ts';

const API = 'https://api.example.test';

describe('API_URI:SCOPE', () => {
  const api = (identifier: string, ...scopes: string[]): ResourceServer => ({
    identifier,
    name: identifier,
    isDefault: false,
    access: 'roles',
    accessTokenTtl: undefined,
    scopes: scopes.map((scope) => ({ scope, description: null })),
    introspectors: [],
  });

  it('reads the API as the registered identifier the text starts with, whose scope the rest is', () => {
    const apis = [api('https://a.test', 'read', 'x:y'), api('https://a.test:8443', 'write')];
    expect(resolvePermission('https://a.test:x:y', apis)).toEqual({ resourceServer: 'https://a.test', scope: 'x:y' });
    expect(resolvePermission('https://a.test:8443:write', apis)).toEqual({ resourceServer: 'https://a.test:8443', scope: 'write' });
    expect(() => resolvePermission('https://a.test:8443:read', apis)).toThrow('API https://a.test:8443 has no scope "read"');
    expect(() => resolvePermission('https://a.test', apis)).toThrow('names no registered API');
  });

  it('refuses a text that reads as a scope of two APIs', () => {
    const apis = [api('https://a.test', '8443:read'), api('https://a.test:8443', 'read')];
    expect(() => resolvePermission('https://a.test:8443:read', apis)).toThrow('permission "https://a.test:8443:read" is ambiguous: it reads as a scope of https://a.test and of https://a.test:8443');
  });
});

describe.each(availableBackends())('postern role on %s', { timeout: 300_000 }, (backend) => {
  let cli: Sandbox;
  let aliceId: string;
  let worker: string;
  let web: string;

  beforeAll(async () => {
    cli = await createSandbox(backend);
    parseJson(await cli.run(['api', 'create', '--identifier', API, '--name', 'Example API', '--scope', 'read', '--scope', 'billing:write', '--json']));
    aliceId = parseJson<{ id: string }>(await cli.run(['user', 'create', '--username', 'alice', '--email', 'alice@example.com', '--no-password', '--json'])).id;
    worker = parseJson<{ clientId: string }>(await cli.run(['client', 'create', '--name', 'Worker', '--grant-type', 'client_credentials', '--json'])).clientId;
    web = parseJson<{ clientId: string }>(await cli.run(['client', 'create', '--name', 'Web', '--redirect-uri', 'http://localhost:8080/callback', '--json'])).clientId;
  });
  afterAll(() => cli?.cleanup());

  it('creates a role from API_URI:SCOPE permissions, a scope with ":" included', async () => {
    const role = parseJson<Record<string, unknown>>(
      await cli.run(['role', 'create', 'editor', '--description', 'Edits things', '--permission', `${API}:read`, '--permission', `${API}:billing:write`, '--json']),
    );
    expect(role).toEqual({
      name: 'editor',
      description: 'Edits things',
      permissions: [
        { resourceServer: API, scope: 'billing:write' },
        { resourceServer: API, scope: 'read' },
      ],
      createdAt: expect.any(String),
    });
  });

  it('refuses an unknown API or scope and a taken name (exit 1), and a missing name (exit 2)', async () => {
    const unknownApi = await cli.run(['role', 'create', 'auditor', '--permission', 'https://nowhere.example.test:read']);
    expect(unknownApi.code).toBe(1);
    expect(errorLines(unknownApi)).toEqual(['postern: permission "https://nowhere.example.test:read" names no registered API (expected API_URI:SCOPE)']);
    const unknownScope = await cli.run(['role', 'create', 'auditor', '--permission', `${API}:delete`]);
    expect(errorLines(unknownScope)).toEqual([`postern: API ${API} has no scope "delete"`]);
    const taken = await cli.run(['role', 'create', 'EDITOR']);
    expect(taken.code).toBe(1);
    expect(errorLines(taken)).toEqual(['postern: role EDITOR already exists']);
    const nameless = await cli.run(['role', 'create', '--permission', `${API}:read`]);
    expect(nameless.code).toBe(2);
    expect(errorLines(nameless)).toEqual(['postern: role create: missing NAME']);
    // nothing was created by the refusals
    expect(parseJson<Array<{ name: string }>>(await cli.run(['role', 'list', '--json'])).map((role) => role.name)).toEqual(['editor']);
  });

  it('grants a role to a user found by username and to a client; user show and client show list it', async () => {
    const granted = await cli.run(['role', 'grant', 'editor', '--user', 'alice']);
    expect(granted.code, granted.stderr).toBe(0);
    expect(granted.stdout).toBe('granted role editor to user alice\n');
    const again = await cli.run(['role', 'grant', 'Editor', '--user', 'alice@example.com']);
    expect(again.stdout).toBe('user alice already holds role editor\n');

    const shown = await cli.run(['user', 'show', 'alice']);
    expect(shown.stdout).toMatch(/^roles +editor$/m);
    expect(parseJson<{ id: string; roles: string[] }>(await cli.run(['user', 'show', aliceId, '--json']))).toMatchObject({ id: aliceId, roles: ['editor'] });

    expect(parseJson(await cli.run(['role', 'grant', 'editor', '--client', worker, '--json']))).toEqual({ role: 'editor', client: worker, granted: true });
    expect(parseJson<{ roles: string[] }>(await cli.run(['client', 'show', worker, '--json'])).roles).toEqual(['editor']);
  });

  it('refuses a client that does not get tokens for itself, and a command naming no holder or two', async () => {
    const webClient = await cli.run(['role', 'grant', 'editor', '--client', web]);
    expect(webClient.code).toBe(1);
    expect(errorLines(webClient)).toEqual([`postern: client ${web} does not use client_credentials: a client's roles apply only to the tokens it gets for itself`]);
    for (const holders of [[], ['--user', 'alice', '--client', worker]]) {
      const result = await cli.run(['role', 'grant', 'editor', ...holders]);
      expect(result.code).toBe(2);
      expect(errorLines(result)).toEqual(['postern: role grant: give exactly one of --user ID|USERNAME|EMAIL and --client CLIENT_ID']);
    }
    const nobody = await cli.run(['role', 'grant', 'editor', '--user', 'nobody']);
    expect(errorLines(nobody)).toEqual(['postern: no account "nobody"']);
    const noRole = await cli.run(['role', 'grant', 'nothing', '--user', 'alice']);
    expect(errorLines(noRole)).toEqual(['postern: no role nothing']);
  });

  it('lists roles with their holders counted, and shows one with its holders', async () => {
    const listed = await cli.run(['role', 'list']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^NAME +DESCRIPTION +USERS +CLIENTS +PERMISSIONS$/),
      expect.stringMatching(new RegExp(`^editor +Edits things +1 +1 +${API}:billing:write, ${API}:read$`)),
    ]);
    const shown = await cli.run(['role', 'show', 'editor']);
    expect(shown.stdout).toMatch(new RegExp(`^permission +${API}:read$`, 'm'));
    expect(shown.stdout).toMatch(new RegExp(`^users +alice \\(${aliceId}\\)$`, 'm'));
    expect(shown.stdout).toMatch(new RegExp(`^clients +${worker} \\(Worker\\)$`, 'm'));
  });

  it("replaces a role's permissions", async () => {
    const role = parseJson<{ permissions: unknown[] }>(await cli.run(['role', 'set-permissions', 'editor', '--permission', `${API}:read`, '--json']));
    expect(role.permissions).toEqual([{ resourceServer: API, scope: 'read' }]);
  });

  it('revokes a role, and deletes one; a second delete is an error, exit 1', async () => {
    const revoked = await cli.run(['role', 'revoke', 'editor', '--user', aliceId]);
    expect(revoked.stdout).toBe('revoked role editor from user alice\n');
    const again = await cli.run(['role', 'revoke', 'editor', '--user', 'alice', '--json']);
    expect(parseJson(again)).toEqual({ role: 'editor', user: { id: aliceId, username: 'alice' }, revoked: false });
    expect(parseJson<{ roles: string[] }>(await cli.run(['user', 'show', 'alice', '--json'])).roles).toEqual([]);

    expect((await cli.run(['role', 'delete', 'editor'])).stdout).toBe('deleted role editor\n');
    const gone = await cli.run(['role', 'delete', 'editor']);
    expect(gone.code).toBe(1);
    expect(errorLines(gone)).toEqual(['postern: no role editor']);
    expect(parseJson<{ roles: string[] }>(await cli.run(['client', 'show', worker, '--json'])).roles).toEqual([]);
  });

  it("sets an API's access; a value other than roles or open is a usage error", async () => {
    expect(parseJson<ResourceServer>(await cli.run(['api', 'set-access', API, 'open', '--json'])).access).toBe('open');
    const shown = await cli.run(['api', 'set-access', API, 'roles']);
    expect(shown.stdout).toMatch(/^access +roles$/m);
    const wrong = await cli.run(['api', 'set-access', API, 'everyone']);
    expect(wrong.code).toBe(2);
    expect(errorLines(wrong)).toEqual(['postern: api set-access: access must be open or roles, got "everyone"']);
    const created = await cli.run(['api', 'create', '--identifier', 'https://open.example.test', '--name', 'Open', '--scope', 'read', '--access', 'open', '--json']);
    expect(parseJson<ResourceServer>(created).access).toBe('open');
  });
});
