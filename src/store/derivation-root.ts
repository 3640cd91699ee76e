import { ConfigError } from '../config.ts';
import type { Database } from './db.ts';
import { createEnvelope, type SecretEnvelope } from './envelope.ts';
import { DERIVATION_ROOT_SEALED, SIGNING_KEY_SEALED } from './sealed-columns.ts';

const TABLE = DERIVATION_ROOT_SEALED.table;
const ROW = 'root';

/**
 * The root of every derived key. Recorded (sealed) by the first master key rotation; until then it
 * is the master key used so far: the previous one while it is being replaced, else the master key.
 */
export async function loadDerivationRoot(db: Database, keys: { master: Buffer; previous: Buffer | undefined }): Promise<Buffer> {
  const opener = createEnvelope(keys.master, { previous: keys.previous });
  const row: { root_sealed: string } | undefined = await db(TABLE).where({ name: ROW }).first('root_sealed');
  if (row) return Buffer.from(opener.open(row.root_sealed, DERIVATION_ROOT_SEALED, ROW), 'base64');
  if (!keys.previous) return keys.master;
  // a wrong previous key would change every derived key: it must be the one that sealed what is stored
  const stored: Array<{ kid: string; private_jwk_sealed: string }> = await db('signing_keys').select('kid', 'private_jwk_sealed');
  const previousOnly = createEnvelope(keys.previous);
  const opens = stored.some(({ kid, private_jwk_sealed }) => {
    try {
      previousOnly.open(private_jwk_sealed, SIGNING_KEY_SEALED, kid);
      return true;
    } catch {
      return false;
    }
  });
  if (stored.length > 0 && !opens) {
    throw new ConfigError('POSTERN_MASTER_KEY_PREVIOUS opens none of the stored signing keys: it must be the master key used until now');
  }
  return keys.previous;
}

/** Records `root` sealed under the current master key, unless a root is recorded already. */
export async function recordDerivationRoot(db: Database, envelope: SecretEnvelope, root: Buffer): Promise<void> {
  await db(TABLE)
    .insert({ name: ROW, root_sealed: envelope.seal(root.toString('base64'), DERIVATION_ROOT_SEALED, ROW) })
    .onConflict('name')
    .ignore();
}
