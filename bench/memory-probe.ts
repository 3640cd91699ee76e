/**
 * Preloaded into the soak's Postern process (`node --import bench/memory-probe.ts src/main.ts`,
 * see bench/lib/soak.ts) so that the V8 heap can be reported next to the RSS read from /proc:
 * once a second it appends `process.memoryUsage()` as one JSON line (bytes, `t` = Date.now())
 * to the file named by BENCH_MEMORY_FILE. Nothing else: no flags, no server code touched; the
 * timer is unref'd, so it never keeps the process alive. Does nothing without the variable.
 */
import { appendFile } from 'node:fs/promises';

const file = process.env.BENCH_MEMORY_FILE;
if (file) {
  // the server does not need to know (and its child processes, if any, must not inherit it)
  delete process.env.BENCH_MEMORY_FILE;
  let writing = false;
  const timer = setInterval(() => {
    if (writing) return;
    writing = true;
    const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
    appendFile(file, `${JSON.stringify({ t: Date.now(), rss, heapTotal, heapUsed, external, arrayBuffers })}\n`).then(
      () => {
        writing = false;
      },
      () => clearInterval(timer),
    );
  }, 1000);
  timer.unref();
}
