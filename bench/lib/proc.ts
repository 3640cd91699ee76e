import { readdirSync, readFileSync } from 'node:fs';

/**
 * Server-side resource use from /proc (Linux): CPU time and resident memory of a process and its
 * descendants (a clustered server is a primary plus workers).
 */

const CLOCK_TICKS_PER_SECOND = 100; // `getconf CLK_TCK` on Linux

interface StatLine {
  ppid: number;
  /** utime + stime, clock ticks */
  ticks: number;
}

function readStat(pid: number): StatLine | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name may contain spaces and parentheses: fields start after the last ')'
    const fields = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined;
  }
}

/** `pid` and every live descendant. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (!stat) continue;
    const siblings = children.get(stat.ppid) ?? [];
    siblings.push(Number(entry));
    children.set(stat.ppid, siblings);
  }
  const tree: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.shift()!;
    tree.push(next);
    queue.push(...(children.get(next) ?? []));
  }
  return tree;
}

/** CPU clock ticks (user + system) used so far, per live process. */
function cpuTicks(pids: number[]): Map<number, number> {
  const ticks = new Map<number, number>();
  for (const pid of pids) {
    const stat = readStat(pid);
    if (stat) ticks.set(pid, stat.ticks);
  }
  return ticks;
}

/** CPU seconds (user + system) used so far, summed over the live processes. */
export function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const value of cpuTicks(pids).values()) ticks += value;
  return ticks / CLOCK_TICKS_PER_SECOND;
}

function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Resident set size now, bytes, summed over the processes. */
export function rssBytes(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + statusField(pid, 'VmRSS'), 0);
}

/** Peak resident set size since each process started (VmHWM), bytes, summed. */
export function peakRssBytes(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + statusField(pid, 'VmHWM'), 0);
}

export interface UsageWindow {
  /** CPU use over the window as % of one core (200 = two cores busy) */
  cpuPercent: number;
  /** highest sampled RSS of the whole tree during the window, bytes */
  peakRss: number;
}

/** Processes whose command line contains `text` (e.g. the PostgreSQL backends of one database). */
export function processesMatching(text: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/**
 * Measures CPU and samples RSS between `start()` and `stop()`: of a process tree (a pid), or of
 * the processes a function lists at `start()`.
 */
export function usageMeter(root: number | (() => number[]), sampleMs = 100) {
  const list = typeof root === 'number' ? () => processTree(root) : root;
  let pids: number[] = [];
  let startTicks = new Map<number, number>();
  let startedAt = 0;
  let peakRss = 0;
  let timer: NodeJS.Timeout | undefined;
  return {
    start() {
      pids = list();
      startTicks = cpuTicks(pids);
      startedAt = performance.now();
      peakRss = rssBytes(pids);
      timer = setInterval(() => {
        peakRss = Math.max(peakRss, rssBytes(pids));
      }, sampleMs);
    },
    stop(): UsageWindow {
      if (timer) clearInterval(timer);
      const elapsed = (performance.now() - startedAt) / 1000;
      peakRss = Math.max(peakRss, rssBytes(pids));
      // processes that ended during the window drop out (their last ticks are lost); processes
      // that started during it count from zero
      const endTicks = cpuTicks([...new Set([...pids, ...list()])]);
      let ticks = 0;
      for (const [pid, end] of endTicks) ticks += Math.max(0, end - (startTicks.get(pid) ?? 0));
      const cpu = ticks / CLOCK_TICKS_PER_SECOND;
      return { cpuPercent: elapsed > 0 ? (cpu / elapsed) * 100 : 0, peakRss };
    },
  };
}
