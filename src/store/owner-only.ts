import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../config.ts';

const GROUP_AND_OTHER = 0o077;

function restrict(path: string, isDirectory: boolean): void {
  const mode = lstatSync(path).mode & 0o7777;
  const wanted = isDirectory ? 0o700 : mode & ~GROUP_AND_OTHER;
  if (mode !== wanted) chmodSync(path, wanted);
}

function restrictTree(dir: string): void {
  restrict(dir, true);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    // a link is not followed: what it points to is not ours to change
    if (entry.isDirectory()) restrictTree(path);
    else if (entry.isFile()) restrict(path, false);
  }
}

/**
 * Creates `dir` if needed and makes it and everything in it reachable by its owner only: the
 * directories 0700, the files without any group or other permission. Modes are set explicitly,
 * whatever the umask (PGlite writes its files 0666 whatever the umask). Fails with one line
 * saying how to fix it when the directory belongs to someone else.
 */
export function ownerOnlyDirectory(dir: string, options: { recursive: boolean }): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (options.recursive) restrictTree(dir);
    else restrict(dir, true);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'EACCES') throw error;
    throw new ConfigError(
      `cannot make ${dir} private to the user running Postern (${code}): run Postern as the owner of that directory, or run "chmod -R go-rwx ${dir}" as its owner`,
    );
  }
}
