import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { createSandbox, parseJson, type Sandbox } from './support/cli.ts';

const SEAL_LEGACY = join(import.meta.dirname, 'support/seal-legacy.ts');

interface ResealJson {
  resealed: number;
  current: number;
  columns: Array<{ table: string; column: string; resealed: number; current: number }>;
}

describe.each(availableBackends())('postern reseal on %s', { timeout: 300_000 }, (backend) => {
  let cli: Sandbox;

  beforeAll(async () => {
    cli = await createSandbox(backend);
  });
  afterAll(() => cli?.cleanup());

  it('seals values of the first format again, prints the counts, and finds nothing to do the second time', async () => {
    parseJson(await cli.run(['client', 'create', '--name', 'Worker', '--grant-type', 'client_credentials', '--json']));
    const older = parseJson<{ clientId: string }>(await cli.run(['client', 'create', '--name', 'Older worker', '--grant-type', 'client_credentials', '--json']));
    const legacy = await cli.runScript(SEAL_LEGACY, [older.clientId]);
    expect(legacy.code, legacy.stderr).toBe(0);

    const first = await cli.run(['reseal']);
    expect(first.code, first.stderr).toBe(0);
    const [summary, header, ...rows] = first.stdout.trimEnd().split('\n');
    expect(summary).toBe('resealed 1 value; 1 already in the current format');
    expect(header).toMatch(/^COLUMN +RESEALED +CURRENT$/);
    expect(rows).toEqual([
      expect.stringMatching(/^signing_keys\.private_jwk_sealed +0 +0$/),
      expect.stringMatching(/^clients\.client_secret_sealed +1 +1$/),
      expect.stringMatching(/^accounts\.totp_secret_sealed +0 +0$/),
      expect.stringMatching(/^master_key_derivation\.root_sealed +0 +0$/),
    ]);

    const second = parseJson<ResealJson>(await cli.run(['reseal', '--json']));
    expect(second).toMatchObject({ resealed: 0, current: 2 });
    expect(second.columns.find((column) => column.table === 'clients')).toEqual({ table: 'clients', column: 'client_secret_sealed', resealed: 0, current: 2 });
  });
});
