// Run as a child process: `node add-passkey.ts LOGIN NAME` registers a software passkey for LOGIN
// through the domain (as /account would) and prints its credential id.
import { loadConfig } from '../../../src/config.ts';
import { createServices, openStorage } from '../../../src/services.ts';
import { SoftwarePasskey } from '../../support/software-passkey.ts';

const [login, name] = [process.argv[2]!, process.argv[3]!];
const config = loadConfig();
const storage = await openStorage(config, { kv: false });
try {
  const { accounts, passkeys } = await createServices(config, storage);
  const account = (await accounts.findByLogin(login))!;
  const issuer = new URL(config.issuer);
  const key = new SoftwarePasskey(issuer.hostname, issuer.origin);
  const ceremony = `register:${account.id}`;
  await passkeys.register(ceremony, account.id, key.register(await passkeys.registrationOptions(ceremony, account)), name);
  process.stdout.write(key.id);
} finally {
  await storage.close();
}
