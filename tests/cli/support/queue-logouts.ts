// Run as a child process after the CLI has exited (embedded PGlite admits one process at a time):
// `node queue-logouts.ts CLIENT_ID URI` queues a logout notice for the client, as a session that
// ends does, records it as given up after three attempts (as a server's worker would), and queues another.
import { loadConfig } from '../../../src/config.ts';
import { createServices, openStorage } from '../../../src/services.ts';

const [clientId, uri] = process.argv.slice(2) as [string, string];
const config = loadConfig();
const storage = await openStorage(config, { kv: false });
try {
  const { logoutDeliveries } = await createServices(config, storage);
  await logoutDeliveries.queue([{ clientId, uri, sub: 'account-1', sid: 'sid-1', reason: 'signed_out_everywhere' }]);
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const [claimed] = await logoutDeliveries.claimDue(1, 0);
    await logoutDeliveries.markAttemptFailed(claimed!.id, 'could not connect (ECONNREFUSED)', attempt < 2 ? 0 : undefined);
  }
  await logoutDeliveries.queue([{ clientId, uri, sub: 'account-2', sid: 'sid-2', reason: 'account_deleted' }]);
} finally {
  await storage.close();
}
