import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../config.ts';

const LOCK_FILE = 'postern.lock';

/** Data directories this process holds: a lock file naming our own pid may be a dead process's, these are not. */
const held = new Set<string>();

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * PGlite serves one process and does not lock its directory itself: a second process would
 * write to a copy that is then lost. One lock file per data directory, holding the owner's pid;
 * a lock left by a process that is gone is taken over. Returns the release function.
 */
export function lockDataDir(dataDir: string): () => void {
  const path = join(dataDir, LOCK_FILE);
  if (held.has(path)) throw new ConfigError(`the embedded database in ${dataDir} is open in this process already`);
  const mine = String(process.pid);
  try {
    writeFileSync(path, mine, { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const owner = Number.parseInt(readFileSync(path, 'utf8'), 10);
    if (Number.isInteger(owner) && owner !== process.pid && isRunning(owner)) {
      throw new ConfigError(
        `the embedded database in ${dataDir} is in use by process ${owner}: wait for it or stop it (a server takes postern commands once it is listening), or set DATABASE_URL (PostgreSQL) to run several processes`,
      );
    }
    writeFileSync(path, mine);
  }
  held.add(path);
  const release = () => {
    held.delete(path);
    try {
      if (readFileSync(path, 'utf8') === mine) unlinkSync(path);
    } catch {
      // already gone
    }
  };
  process.once('exit', release);
  return release;
}
