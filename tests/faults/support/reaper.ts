import { spawn, type ChildProcess } from 'node:child_process';

/**
 * Last-resort cleanup for a run that dies before its afterAll (a crashed or killed test worker,
 * an interrupted run): a small detached process that holds a list of what the suite started —
 * process ids, PostgreSQL data directories, temporary directories — and, when the test process
 * goes away (its stdin closes), kills and removes whatever is still listed. A clean teardown
 * takes each entry off the list, so the reaper then has nothing to do.
 */

const SCRIPT = `
const { readFileSync, rmSync } = require('node:fs');
const lists = { pid: new Set(), pg: new Set(), dir: new Set() };
let buffer = '';
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => {});
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffer += chunk;
  for (let end; (end = buffer.indexOf('\\n')) >= 0; buffer = buffer.slice(end + 1)) {
    const line = buffer.slice(0, end);
    const [op, kind] = [line[0], line.slice(1, line.indexOf(' '))];
    const value = line.slice(line.indexOf(' ') + 1);
    if (lists[kind]) op === '+' ? lists[kind].add(value) : lists[kind].delete(value);
  }
});
const kill = (pid, signal) => { try { process.kill(Number(pid), signal); return true; } catch { return false; } };
const postmaster = (dir) => { try { return readFileSync(dir + '/postmaster.pid', 'utf8').split('\\n')[0]; } catch { return undefined; } };
let reaping = false;
const reap = () => {
  if (reaping) return;
  reaping = true;
  const postmasters = [...lists.pg].map(postmaster).filter(Boolean);
  for (const pid of postmasters) kill(pid, 'SIGQUIT');
  for (const pid of lists.pid) kill(pid, 'SIGKILL');
  setTimeout(() => {
    for (const pid of postmasters) kill(pid, 'SIGKILL');
    for (const dir of lists.dir) { try { rmSync(dir, { recursive: true, force: true }); } catch {} }
    process.exit(0);
  }, lists.pg.size > 0 ? 3000 : 200);
};
process.stdin.on('end', reap);
process.stdin.on('error', reap);
`;

let reaper: ChildProcess | undefined;

function send(line: string) {
  if (!reaper) {
    reaper = spawn(process.execPath, ['-e', SCRIPT], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    reaper.unref();
    // the pipe must not keep the test process alive; it closes when the process ends, however it ends
    (reaper.stdin as unknown as { unref(): void }).unref();
    reaper.stdin!.on('error', () => {});
  }
  reaper.stdin!.write(`${line}\n`);
}

export type Reaped = { pid: number } | { postgresData: string } | { dir: string };

/** Lists something for the reaper; answers the function that takes it off the list again. */
export function reapIfAbandoned(what: Reaped): () => void {
  const [kind, value] = 'pid' in what ? ['pid', String(what.pid)] : 'postgresData' in what ? ['pg', what.postgresData] : ['dir', what.dir];
  send(`+${kind} ${value}`);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    send(`-${kind} ${value}`);
  };
}
