/**
 * Summarises a V8 CPU profile (`node --cpu-prof`): top functions by self time, and self time
 * grouped by package (node_modules/<name>), Postern source (src/…), Node internals and GC.
 *
 *   node bench/profile-summary.ts <file.cpuprofile> [top=25]
 */
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node bench/profile-summary.ts <file.cpuprofile> [top]\n');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;

const selfMicros = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i += 1) {
  const id = profile.samples[i]!;
  selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const total = [...selfMicros.values()].reduce((a, b) => a + b, 0);
const byId = new Map(profile.nodes.map((node) => [node.id, node]));

function where(url: string): string {
  if (!url) return '(native)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm !== -1) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return 'node internals';
  const src = url.indexOf('/src/');
  if (src !== -1) return 'postern src';
  const bench = url.indexOf('/bench/');
  if (bench !== -1) return 'bench';
  return url;
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('/node_modules/');
  if (nm !== -1) return url.slice(nm + '/node_modules/'.length);
  const src = url.indexOf('/src/');
  if (src !== -1) return url.slice(src + 1);
  return url.replace(/^file:\/\//, '');
}

const functions = new Map<string, number>();
const groups = new Map<string, number>();
for (const [id, micros] of selfMicros) {
  const { callFrame } = byId.get(id)!;
  const name = callFrame.functionName || '(anonymous)';
  const special = ['(garbage collector)', '(idle)', '(program)', '(root)'].includes(name);
  const key = special ? name : `${name}  ${shortUrl(callFrame.url)}:${callFrame.lineNumber + 1}`;
  functions.set(key, (functions.get(key) ?? 0) + micros);
  const group = special ? name : where(callFrame.url);
  groups.set(group, (groups.get(group) ?? 0) + micros);
}

// the same, with native code and Node internals charged to the nearest package or Postern file
// above them (a socket write from pg counts for pg, one from the HTTP response for koa, …)
const parentOf = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
const attributed = new Map<string, number>();
for (const [id, micros] of selfMicros) {
  let group = groupOf(id);
  if (group === '(native)' || group === 'node internals') {
    for (let up = parentOf.get(id); up !== undefined; up = parentOf.get(up)) {
      const candidate = groupOf(up);
      if (candidate !== '(native)' && candidate !== 'node internals' && candidate !== '(root)') {
        group = `${candidate} (incl. native)`;
        break;
      }
    }
  }
  attributed.set(group, (attributed.get(group) ?? 0) + micros);
}

function groupOf(id: number): string {
  const { callFrame } = byId.get(id)!;
  const name = callFrame.functionName || '(anonymous)';
  return ['(garbage collector)', '(idle)', '(program)', '(root)'].includes(name) ? name : where(callFrame.url);
}

const pct = (micros: number) => `${((micros / total) * 100).toFixed(1).padStart(5)} %`;
const ms = (micros: number) => `${(micros / 1000).toFixed(0).padStart(7)} ms`;
const idle = groups.get('(idle)') ?? 0;
process.stdout.write(`${file}\nwall ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s, sampled ${(total / 1e6).toFixed(1)} s, idle ${pct(idle)}\n\n`);
process.stdout.write('self time by origin\n');
for (const [group, micros] of [...groups].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
  process.stdout.write(`${pct(micros)} ${ms(micros)}  ${group}\n`);
}
process.stdout.write('\nself time by origin, native code charged to its caller\n');
for (const [group, micros] of [...attributed].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
  process.stdout.write(`${pct(micros)} ${ms(micros)}  ${group}\n`);
}
process.stdout.write(`\ntop ${top} functions by self time\n`);
for (const [name, micros] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  process.stdout.write(`${pct(micros)} ${ms(micros)}  ${name}\n`);
}

// callers of the heaviest functions: the first few frames above each sample, weighted by self time
const frame = (id: number) => {
  const { callFrame } = byId.get(id)!;
  return `${callFrame.functionName || '(anonymous)'} ${shortUrl(callFrame.url)}:${callFrame.lineNumber + 1}`;
};
const heaviest = [...functions].sort((a, b) => b[1] - a[1]).filter(([name]) => !name.startsWith('(')).slice(0, Number(process.env.CALLERS ?? 5));
for (const [name] of heaviest) {
  const stacks = new Map<string, number>();
  for (const [id, micros] of selfMicros) {
    if (!name.startsWith(`${byId.get(id)!.callFrame.functionName || '(anonymous)'}  `)) continue;
    if (frame(id).replace(' ', '  ') !== name && !name.endsWith(`${shortUrl(byId.get(id)!.callFrame.url)}:${byId.get(id)!.callFrame.lineNumber + 1}`)) continue;
    const chain: string[] = [];
    for (let up = parentOf.get(id); up !== undefined && chain.length < Number(process.env.DEPTH ?? 6); up = parentOf.get(up)) chain.push(frame(up));
    const key = chain.join(' < ');
    stacks.set(key, (stacks.get(key) ?? 0) + micros);
  }
  process.stdout.write(`\ncallers of ${name}\n`);
  for (const [chain, micros] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, 5)) process.stdout.write(`${pct(micros)}  ${chain}\n`);
}
