import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lockDataDir } from '../../src/store/data-dir-lock.ts';

describe('the embedded data directory lock', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'postern-lock-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('admits one holder in this process: a second open is refused until the first is released', async () => {
    const release = lockDataDir(dir);
    expect(await readFile(join(dir, 'postern.lock'), 'utf8')).toBe(String(process.pid));
    expect(() => lockDataDir(dir)).toThrow(`the embedded database in ${dir} is open in this process already`);
    release();
    lockDataDir(dir)();
  });

  it('refuses a directory a running process holds, and takes over one whose holder is gone', async () => {
    await writeFile(join(dir, 'postern.lock'), String(process.ppid));
    expect(() => lockDataDir(dir)).toThrow(`the embedded database in ${dir} is in use by process ${process.ppid}: wait for it or stop it`);
    // pid 2^22 + 1 is above Linux's pid_max: no process has it
    await writeFile(join(dir, 'postern.lock'), String(2 ** 22 + 1));
    const release = lockDataDir(dir);
    expect(await readFile(join(dir, 'postern.lock'), 'utf8')).toBe(String(process.pid));
    release();
  });
});
