import { findServer, runThroughServer } from './socket/client.ts';

const argv = process.argv.slice(2);
const io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
// a server running on the embedded database holds it: the command then runs in that server
const server = await findServer();
if (server) {
  process.exitCode = await runThroughServer(server, argv, io);
} else {
  const { run } = await import('./run.ts');
  process.exitCode = await run(argv, { io });
}
