// Run as a child process after the CLI has exited (embedded PGlite admits one process at a time):
// `node check-password.ts LOGIN` with a JSON array of candidate passwords on stdin prints a JSON
// array telling which of them sign LOGIN in.
import { text } from 'node:stream/consumers';
import { loadConfig } from '../../../src/config.ts';
import { createServices, openStorage } from '../../../src/services.ts';

const login = process.argv[2]!;
const candidates = JSON.parse(await text(process.stdin)) as string[];
const config = loadConfig();
const storage = await openStorage(config, { kv: false });
try {
  const { accounts } = await createServices(config, storage);
  const results: boolean[] = [];
  for (const candidate of candidates) results.push((await accounts.authenticate(login, candidate)) !== undefined);
  process.stdout.write(JSON.stringify(results));
} finally {
  await storage.close();
}
