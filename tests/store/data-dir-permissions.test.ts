import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/test-server.ts';

interface Entry {
  path: string;
  directory: boolean;
  mode: number;
}

/** Every directory and file under `root` (root included) with its permission bits. */
async function modes(root: string): Promise<Entry[]> {
  const entryOf = async (path: string, directory: boolean) => ({ path, directory, mode: (await stat(path)).mode & 0o777 });
  const found = [await entryOf(root, true)];
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (entry.isDirectory() || entry.isFile()) found.push(await entryOf(join(entry.parentPath, entry.name), entry.isDirectory()));
  }
  return found;
}

/** What the review found: a data directory anyone may read (0755, files 0666). */
async function loosen(root: string): Promise<void> {
  for (const { path, directory } of await modes(root)) await chmod(path, directory ? 0o755 : 0o666);
}

function expectOwnerOnly(entries: Entry[]) {
  for (const { path, directory, mode } of entries) {
    if (directory) expect(mode.toString(8), path).toBe('700');
    else expect(mode & 0o077, `${path} is ${mode.toString(8)}`).toBe(0);
  }
}

/** Starts a server with the given umask in force, so that nothing depends on the operator's. */
async function startWithUmask(mask: number, env: Record<string, string>): Promise<TestServer> {
  const previous = process.umask(mask);
  try {
    return await startTestServer('embedded', env);
  } finally {
    process.umask(previous);
  }
}

describe('the embedded data directory is private to the user running Postern', () => {
  let root = '';
  // both starts must open the signing key the first one sealed
  const MASTER_KEY = randomBytes(32).toString('base64');
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'postern-data-modes-'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('a fresh directory is created 0700 whatever the umask, and its files are private after a stop', async () => {
    const dataDir = join(root, 'fresh', 'data');
    const server = await startWithUmask(0o000, { POSTERN_DATA_DIR: dataDir, POSTERN_MASTER_KEY: MASTER_KEY });
    try {
      expect(((await stat(dataDir)).mode & 0o777).toString(8)).toBe('700');
    } finally {
      await server.close();
    }
    const entries = await modes(dataDir);
    // PGlite really wrote its cluster there (hundreds of files)
    expect(entries.filter((entry) => !entry.directory).length).toBeGreaterThan(100);
    expectOwnerOnly(entries);
  });

  it('an existing directory left readable by everyone (0755, files 0666) is made private when Postern starts', async () => {
    const dataDir = join(root, 'fresh', 'data');
    // files PGlite never rewrites, so that what the start itself did can be seen while it runs
    await mkdir(join(dataDir, 'left-behind'));
    await writeFile(join(dataDir, 'left-behind', 'copy.sql'), 'select 1;\n');
    await writeFile(join(dataDir, 'notes.txt'), 'kept next to the cluster\n');
    await loosen(dataDir);
    const before = await modes(dataDir);
    expect(before.filter((entry) => !entry.directory).every((entry) => entry.mode === 0o666)).toBe(true);

    const server = await startWithUmask(0o022, { POSTERN_DATA_DIR: dataDir, POSTERN_MASTER_KEY: MASTER_KEY });
    try {
      // while the server runs: every directory and the files nothing rewrites are private already
      // (PGlite replaces a few of its own files as it opens; they sit in the private directory)
      const running = await modes(dataDir);
      expectOwnerOnly(running.filter((entry) => entry.directory));
      const untouched = running.filter((entry) => entry.path.endsWith('copy.sql') || entry.path.endsWith('notes.txt'));
      expect(untouched).toHaveLength(2);
      expectOwnerOnly(untouched);
    } finally {
      await server.close();
    }
    expectOwnerOnly(await modes(dataDir));
  });

  it('the development master key: its directory 0700 and the key 0600, also when they were left open', async () => {
    const keysDir = join(root, 'keys');
    // no POSTERN_MASTER_KEY: the key is generated under POSTERN_KEYS_DIR
    const first = await startWithUmask(0o000, { POSTERN_MASTER_KEY: '', POSTERN_KEYS_DIR: keysDir });
    await first.close();
    expect(first.storage.masterKeyOrigin).toBe('generated');
    expect(((await stat(keysDir)).mode & 0o777).toString(8)).toBe('700');
    expect(((await stat(join(keysDir, 'master.key'))).mode & 0o777).toString(8)).toBe('600');

    await chmod(keysDir, 0o755);
    await chmod(join(keysDir, 'master.key'), 0o644);
    await mkdir(join(keysDir, 'imported'), { mode: 0o755 });
    await writeFile(join(keysDir, 'imported', 'old.pem'), 'not a real key', { mode: 0o644 });
    const second = await startWithUmask(0o022, { POSTERN_MASTER_KEY: '', POSTERN_KEYS_DIR: keysDir });
    await second.close();
    expect(second.storage.masterKeyOrigin).toBe('development file');
    expectOwnerOnly(await modes(keysDir));
  });
});
