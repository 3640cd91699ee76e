import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InitialAccessTokenSummary } from '../../src/domain/initial-access-tokens.ts';
import { availableBackends } from '../support/backends.ts';
import { createSandbox, errorLines, parseJson, type Sandbox } from './support/cli.ts';

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
