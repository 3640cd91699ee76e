import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, type Config } from '../config.ts';
import { ownerOnlyDirectory } from './owner-only.ts';

export interface MasterKeySource {
  key: Buffer;
  /** where it came from, for the startup log line (never the key itself) */
  origin: 'environment' | 'file' | 'generated' | 'development file';
}

function decode(raw: string, where: string): Buffer {
  const key = Buffer.from(raw.trim(), 'base64');
  if (key.length !== 32) throw new ConfigError(`${where} must hold 32 random bytes, base64-encoded`);
  return key;
}

async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * The master key used until now, while the master key is replaced: from POSTERN_MASTER_KEY_PREVIOUS
 * or POSTERN_MASTER_KEY_PREVIOUS_FILE; undefined when neither is set.
 */
export async function loadPreviousMasterKey(config: Pick<Config, 'masterKeyPrevious' | 'masterKeyPreviousFile'>): Promise<Buffer | undefined> {
  if (config.masterKeyPrevious) return config.masterKeyPrevious;
  if (!config.masterKeyPreviousFile) return undefined;
  const raw = await readIfPresent(config.masterKeyPreviousFile);
  if (raw === undefined) throw new ConfigError(`POSTERN_MASTER_KEY_PREVIOUS_FILE points to ${config.masterKeyPreviousFile}, which does not exist`);
  return decode(raw, `POSTERN_MASTER_KEY_PREVIOUS_FILE (${config.masterKeyPreviousFile})`);
}

/**
 * The master key: from POSTERN_MASTER_KEY, from POSTERN_MASTER_KEY_FILE, or (development and
 * test only) from `keys/master.key`, generated on first start.
 */
export async function loadMasterKey(config: Pick<Config, 'masterKey' | 'masterKeyFile' | 'keysDir' | 'mode'>): Promise<MasterKeySource> {
  if (config.masterKey) return { key: config.masterKey, origin: 'environment' };
  if (config.masterKeyFile) {
    const raw = await readIfPresent(config.masterKeyFile);
    if (raw === undefined) throw new ConfigError(`POSTERN_MASTER_KEY_FILE points to ${config.masterKeyFile}, which does not exist`);
    return { key: decode(raw, `POSTERN_MASTER_KEY_FILE (${config.masterKeyFile})`), origin: 'file' };
  }
  if (config.mode === 'production') throw new ConfigError('production needs POSTERN_MASTER_KEY or POSTERN_MASTER_KEY_FILE');

  const path = join(config.keysDir, 'master.key');
  ownerOnlyDirectory(config.keysDir, { recursive: true });
  const existing = await readIfPresent(path);
  if (existing !== undefined) return { key: decode(existing, path), origin: 'development file' };

  const key = randomBytes(32);
  // 'wx' fails if another process created the file meanwhile: then read theirs.
  try {
    await writeFile(path, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return { key: decode((await readIfPresent(path)) ?? '', path), origin: 'development file' };
  }
  return { key, origin: 'generated' };
}
