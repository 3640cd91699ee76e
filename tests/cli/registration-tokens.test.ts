import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InitialAccessTokenSummary } from '../../src/domain/initial-access-tokens.ts';
import { availableBackends } from '../support/backends.ts';
import { join } from 'node:path';
import { createSandbox, errorLines, parseJson, ROOT, type Sandbox } from './support/cli.ts';

type Listed = Omit<InitialAccessTokenSummary, 'createdAt' | 'expiresAt'> & { createdAt: string; expiresAt: string };

describe.each(availableBackends())('postern registration-token on %s', { timeout: 300_000 }, (backend) => {
  let cli: Sandbox;

  beforeAll(async () => {
    cli = await createSandbox(backend);
    await cli.run(['migrate']);
  });
  afterAll(() => cli?.cleanup());

  it('makes a token shown once, lists it without its value, and revokes it', async () => {
    const made = parseJson<Listed & { value: string }>(await cli.run(['registration-token', 'create', '--description', 'partner', '--ttl', '7d', '--uses', '3', '--json']));
    expect(made).toMatchObject({ description: 'partner', usesLeft: 3, uses: 0, value: expect.stringMatching(/^pit_[A-Za-z0-9_-]{43}$/) });
    expect(new Date(made.expiresAt).getTime() - new Date(made.createdAt).getTime()).toBeGreaterThan(6 * 86400_000);

    const text = await cli.run(['registration-token', 'list']);
    expect(text.stdout).toContain(made.id);
    expect(text.stdout).toContain('partner');
    expect(text.stdout).not.toContain(made.value);
    const listed = parseJson<Listed[]>(await cli.run(['registration-token', 'list', '--json']));
    expect(listed.map((token) => token.id)).toEqual([made.id]);
    expect(JSON.stringify(listed)).not.toContain(made.value);

    const revoked = await cli.run(['registration-token', 'revoke', made.id]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(parseJson<Listed[]>(await cli.run(['registration-token', 'list', '--json']))).toEqual([]);
  });

  it('client list and show tell a client that registered itself from one an operator registered', async () => {
    const registered = await cli.runScript(join(ROOT, 'tests/cli/support/register-dynamic-client.ts'), []);
    expect(registered.code, registered.stderr).toBe(0);
    const clientId = registered.stdout.trim();
    await cli.run(['client', 'create', '--name', 'Operator app', '--redirect-uri', 'https://app.example.test/cb']);
    const table = (await cli.run(['client', 'list'])).stdout.split('\n');
    expect(table[0]).toMatch(/REGISTERED BY/);
    expect(table.find((line) => line.startsWith(clientId))).toMatch(/\bitself\b/);
    expect(table.find((line) => line.includes('Operator app'))).toMatch(/\boperator\b/);
    const listed = parseJson<Array<{ clientId: string; dynamic: boolean }>>(await cli.run(['client', 'list', '--json']));
    expect(listed.map(({ clientId: id, dynamic }) => [id === clientId, dynamic])).toEqual(expect.arrayContaining([[true, true], [false, false]]));
    expect((await cli.run(['client', 'show', clientId])).stdout).toMatch(/registered by\s+itself \(dynamic registration\), never used yet/);
  });

  it('refuses an unknown token id and bad options', async () => {
    const unknown = await cli.run(['registration-token', 'revoke', 'nope']);
    expect(unknown.code).toBe(1);
    expect(errorLines(unknown).join('\n')).toMatch(/no initial access token nope/);
    const ttl = await cli.run(['registration-token', 'create', '--ttl', 'soon']);
    expect(ttl.code).toBe(2);
    const uses = await cli.run(['registration-token', 'create', '--uses', '-1']);
    expect(uses.code).toBe(2);
  });
});
