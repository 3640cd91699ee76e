/**
 * Postern in N processes sharing one port (node:cluster): each worker runs `src/main.ts`
 * unchanged; the primary only forks, forwards SIGTERM/SIGINT, and exits when the workers have.
 *
 *   node bench/cluster-entry.ts <workers>      (same environment as `node src/main.ts`)
 *
 * Workers are started one after the other: every start runs the migrations, and on a database
 * that has never been migrated, simultaneous first starts can fail while creating knex's own
 * tables (see bench/README.md). The bench seeds (and so migrates) before any worker starts.
 */
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';

const count = Number(process.argv[2] ?? 2);
if (!Number.isInteger(count) || count < 1) throw new TypeError('usage: node bench/cluster-entry.ts <workers>');

cluster.setupPrimary({ exec: fileURLToPath(new URL('../src/main.ts', import.meta.url)) });

const workers: Worker[] = [];
let stopping = false;

cluster.on('exit', (worker, code, signal) => {
  if (stopping) {
    if (workers.every((w) => w.isDead())) process.exit(0);
    return;
  }
  process.stderr.write(`cluster-entry: worker ${worker.process.pid} exited (${signal ?? code}); stopping\n`);
  stop(1);
});

function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const worker of workers) if (!worker.isDead()) worker.process.kill('SIGTERM');
  setTimeout(() => process.exit(code), 10_000).unref();
  if (workers.every((w) => w.isDead())) process.exit(code);
}
process.on('SIGTERM', () => stop());
process.on('SIGINT', () => stop());

for (let i = 0; i < count && !stopping; i += 1) {
  const worker = cluster.fork();
  workers.push(worker);
  await new Promise<void>((resolve) => {
    worker.once('listening', () => resolve());
    worker.once('exit', () => resolve());
  });
}
