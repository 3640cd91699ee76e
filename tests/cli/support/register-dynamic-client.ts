// Run as a child process (embedded PGlite admits one process at a time): `node register-dynamic-client.ts`
// stores a client as the registration endpoint does (RFC 7591) and prints its client_id.
import { loadConfig } from '../../../src/config.ts';
import { createServices, openStorage } from '../../../src/services.ts';

const config = loadConfig();
const storage = await openStorage(config, { kv: false });
try {
  const { clients } = await createServices(config, storage);
  const { client } = await clients.create(
    { name: 'Self-registered agent', type: 'public', redirectUris: ['http://127.0.0.1:9000/cb'], grantTypes: ['authorization_code', 'refresh_token'] },
    { clientId: 'dynamic0123456789abcdef01234567', clientSecret: undefined, applicationType: 'native' },
  );
  process.stdout.write(`${client.clientId}\n`);
} finally {
  await storage.close();
}
