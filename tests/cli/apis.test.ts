import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResourceServer } from '../../src/domain/resource-servers.ts';
import { MIGRATION_NAMES } from '../../src/store/migrate.ts';
import { availableBackends } from '../support/backends.ts';
import { createSandbox, errorLines, parseJson, type Sandbox } from './support/cli.ts';

const API = 'https://api.example.test';

describe.each(availableBackends())('postern migrate and api on %s', { timeout: 300_000 }, (backend) => {
  let cli: Sandbox;

  beforeAll(async () => {
    cli = await createSandbox(backend);
  });
  afterAll(() => cli?.cleanup());

  it('migrates a fresh database and reports it up to date the second time', async () => {
    const first = parseJson<{ database: string; applied: string[] }>(await cli.run(['migrate', '--json']));
    expect(first.applied).toEqual(MIGRATION_NAMES);
    const second = await cli.run(['migrate']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/: already up to date\n$/);
  });

  it('creates an API with described scopes, as the default, with its own token lifetime', async () => {
    const api = parseJson<ResourceServer>(
      await cli.run(['api', 'create', '--identifier', API, '--name', 'Example API', '--scope', 'read=Read your data', '--scope', 'write', '--default', '--access-token-ttl', '600', '--json']),
    );
    expect(api).toEqual({
      identifier: API,
      name: 'Example API',
      isDefault: true,
      access: 'roles',
      accessTokenTtl: 600,
      scopes: [
        { scope: 'read', description: 'Read your data' },
        { scope: 'write', description: null },
      ],
      introspectors: [],
    });
  });

  it('refuses a bad lifetime or a missing scope as usage errors, exit 2', async () => {
    const ttl = await cli.run(['api', 'create', '--identifier', API, '--name', 'X', '--scope', 'read', '--access-token-ttl', '10m']);
    expect(ttl.code).toBe(2);
    expect(errorLines(ttl)).toEqual(['postern: api create: --access-token-ttl must be a whole number of seconds, at least 1, got "10m"']);
    const scopeless = await cli.run(['api', 'create', '--identifier', API, '--name', 'X']);
    expect(scopeless.code).toBe(2);
    expect(errorLines(scopeless)).toEqual(['postern: api create: at least one --scope is required']);
  });

  it('lists APIs as a table', async () => {
    const result = await cli.run(['api', 'list']);
    expect(result.code, result.stderr).toBe(0);
    const [header, row, ...rest] = result.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^IDENTIFIER +NAME +DEFAULT +ACCESS +TOKEN TTL +SCOPES +INTROSPECTORS$/);
    expect(row).toMatch(/^https:\/\/api\.example\.test +Example API +yes +roles +600s +read, write +-$/);
    expect(rest).toEqual([]);
  });

  it('names the confidential clients that may introspect an API\'s tokens, at creation and afterwards', async () => {
    const gateway = parseJson<{ clientId: string }>(await cli.run(['client', 'create', '--name', 'Gateway', '--grant-type', 'client_credentials', '--json']));
    const worker = parseJson<{ clientId: string }>(await cli.run(['client', 'create', '--name', 'Worker', '--grant-type', 'client_credentials', '--json']));
    const spa = parseJson<{ clientId: string }>(await cli.run(['client', 'create', '--name', 'SPA', '--public', '--redirect-uri', 'http://localhost:8080/callback', '--json']));
    const other = 'https://other.example.test';
    const created = parseJson<ResourceServer>(await cli.run(['api', 'create', '--identifier', other, '--name', 'Other', '--scope', 'x', '--introspector', gateway.clientId, '--json']));
    expect(created.introspectors).toEqual([gateway.clientId]);

    const both = await cli.run(['api', 'set-introspectors', other, worker.clientId, gateway.clientId]);
    expect(both.code, both.stderr).toBe(0);
    expect(both.stdout).toMatch(new RegExp(`introspectors +${[gateway.clientId, worker.clientId].sort().join(', ')}\n`));

    const publicClient = await cli.run(['api', 'set-introspectors', other, spa.clientId]);
    expect(publicClient.code).toBe(1);
    expect(errorLines(publicClient)).toEqual([`postern: client ${spa.clientId} is public and cannot introspect tokens`]);
    const unknownClient = await cli.run(['api', 'set-introspectors', other, 'no-such-client']);
    expect(errorLines(unknownClient)).toEqual(['postern: no client no-such-client']);
    const unknownApi = await cli.run(['api', 'set-introspectors', 'https://missing.example.test', gateway.clientId]);
    expect(errorLines(unknownApi)).toEqual(['postern: no resource server https://missing.example.test']);
    const noUri = await cli.run(['api', 'set-introspectors']);
    expect(noUri.code).toBe(2);
    // a refused change leaves the previous introspectors
    const listed = parseJson<ResourceServer[]>(await cli.run(['api', 'list', '--json']));
    expect(listed.find((api) => api.identifier === other)?.introspectors).toEqual([gateway.clientId, worker.clientId].sort());

    const cleared = parseJson<ResourceServer>(await cli.run(['api', 'set-introspectors', other, '--json']));
    expect(cleared.introspectors).toEqual([]);
    expect(parseJson(await cli.run(['api', 'delete', other, '--json']))).toEqual({ deleted: true, identifier: other });
  });

  it('deletes an API; a second delete is an error, exit 1', async () => {
    expect(parseJson(await cli.run(['api', 'delete', API, '--json']))).toEqual({ deleted: true, identifier: API });
    const again = await cli.run(['api', 'delete', API]);
    expect(again.code).toBe(1);
    expect(errorLines(again)).toEqual([`postern: no resource server ${API}`]);
  });
});
