// Run as a child process after the CLI has exited (embedded PGlite admits one process at a time):
// `node seal-legacy.ts CLIENT_ID` stores the client's secret again in the envelope's first format
// (the master key itself, the purpose as additional data), as an installation from before rows
// were bound to their values holds it.
import { createCipheriv, randomBytes } from 'node:crypto';
import { loadConfig } from '../../../src/config.ts';
import { openStorage } from '../../../src/services.ts';
import { loadMasterKey } from '../../../src/store/master-key.ts';
import { CLIENT_SECRET_SEALED } from '../../../src/store/sealed-columns.ts';

const clientId = process.argv[2]!;
const config = loadConfig();
const storage = await openStorage(config, { kv: false });
try {
  const { key } = await loadMasterKey(config);
  const row = await storage.db('clients').where({ client_id: clientId }).first('client_secret_sealed');
  const secret = storage.envelope.open(row.client_secret_sealed, CLIENT_SECRET_SEALED, clientId);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(CLIENT_SECRET_SEALED.legacyPurpose(clientId)));
  const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  const legacy = ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
  await storage.db('clients').where({ client_id: clientId }).update({ client_secret_sealed: legacy });
  process.stdout.write(JSON.stringify({ secret }));
} finally {
  await storage.close();
}
