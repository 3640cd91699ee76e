import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResourceServer } from '../../src/domain/resource-servers.ts';
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
    expect(first.applied).toEqual(['20261124000000_initial', '20261124010000_sign_in_security']);
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
      accessTokenTtl: 600,
      scopes: [
        { scope: 'read', description: 'Read your data' },
        { scope: 'write', description: null },
      ],
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
    expect(header).toMatch(/^IDENTIFIER +NAME +DEFAULT +TOKEN TTL +SCOPES$/);
    expect(row).toMatch(/^https:\/\/api\.example\.test +Example API +yes +600s +read, write$/);
    expect(rest).toEqual([]);
  });

  it('deletes an API; a second delete is an error, exit 1', async () => {
    expect(parseJson(await cli.run(['api', 'delete', API, '--json']))).toEqual({ deleted: true, identifier: API });
    const again = await cli.run(['api', 'delete', API]);
    expect(again.code).toBe(1);
    expect(errorLines(again)).toEqual([`postern: no resource server ${API}`]);
  });
});
