import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../support/backends.ts';
import { createSandbox, errorLines, parseJson, type Sandbox } from './support/cli.ts';

interface KeyJson {
  kid: string;
  status: string;
  alg: string;
  createdAt: string;
  activatedAt?: string;
  deactivatedAt?: string;
  retiredAt?: string;
}

describe.each(availableBackends())('postern keys on %s', { timeout: 300_000 }, (backend) => {
  let cli: Sandbox;

  beforeAll(async () => {
    cli = await createSandbox(backend);
  });
  afterAll(() => cli?.cleanup());

  const list = async () => parseJson<KeyJson[]>(await cli.run(['keys', 'list', '--json']));

  it('lists no keys before the first start, and refuses a rotation to a next key published just now, naming when it will be ready', async () => {
    const empty = await cli.run(['keys', 'list']);
    expect(empty.code, empty.stderr).toBe(0);
    expect(empty.stdout).toBe('no signing keys (the server makes the first when it starts)\n');

    const early = await cli.run(['keys', 'rotate']);
    expect(early.code).toBe(1);
    expect(errorLines(early)).toEqual([expect.stringMatching(/^postern: the next key \S+ has not been published long enough: relying parties caching the JWKS may not know it before \d{4}-\d\d-\d\dT[\d:.]+Z; rotate then, or force the rotation now \(postern keys rotate --now\)$/)]);
    const keys = await list();
    expect(keys.map((key) => key.status)).toEqual(['current', 'next']);
    expect(early.stderr).toContain(keys[1]!.kid);
  });

  it('rotates with --now, lists every key with its times, and retires the previous key but not the current one', async () => {
    const [current, next] = await list();
    const rotated = parseJson<{ current: string; previous: string; next: string }>(await cli.run(['keys', 'rotate', '--now', '--json']));
    expect(rotated).toEqual({ current: next!.kid, previous: current!.kid, next: expect.any(String) });

    const text = await cli.run(['keys', 'list']);
    const [header, ...rows] = text.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^KID +STATUS +ALG +CREATED +SIGNS SINCE +SIGNED UNTIL +RETIRED$/);
    expect(rows).toEqual([
      expect.stringMatching(new RegExp(`^${next!.kid} +current +RS256 +\\S+Z +\\S+Z +- +-$`)),
      expect.stringMatching(new RegExp(`^${rotated.next} +next +RS256 +\\S+Z +- +- +-$`)),
      expect.stringMatching(new RegExp(`^${current!.kid} +previous +RS256 +\\S+Z +\\S+Z +\\S+Z +-$`)),
    ]);

    const refused = await cli.run(['keys', 'retire', rotated.current]);
    expect(refused.code).toBe(1);
    expect(errorLines(refused)).toEqual([`postern: the signing key ${rotated.current} signs now: rotate first (postern keys rotate), then retire it`]);

    const retired = await cli.run(['keys', 'retire', rotated.previous]);
    expect(retired.code, retired.stderr).toBe(0);
    expect(retired.stdout).toBe(`retired ${rotated.previous}: no longer published; tokens it signed are refused\n`);
    const after = await list();
    expect(after.find((key) => key.kid === rotated.previous)).toMatchObject({ status: 'retired', retiredAt: expect.any(String) });
    expect(after.map((key) => key.status)).toEqual(['current', 'next', 'retired']);

    const unknown = await cli.run(['keys', 'retire', 'nope']);
    expect(unknown.code).toBe(1);
    expect(errorLines(unknown)).toEqual(['postern: no signing key with kid nope']);
    const usage = await cli.run(['keys', 'retire']);
    expect(usage.code).toBe(2);
    expect(errorLines(usage)[0]).toBe('postern: keys retire: missing KID');
  });
});
