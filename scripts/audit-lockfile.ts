/**
 * `npm run audit:lockfile [-- DIR] [--offline | --require-signatures]`: checks what `npm ci` installs
 * from the lockfile alone (lockfile-checks.ts), then, when the registry and Sigstore can be reached,
 * runs `npm audit signatures` (registry signatures and provenance of every installed package).
 * `--offline` skips that step; `--require-signatures` fails when it cannot run. Exit code 1 on any
 * problem, one line each.
 */
import { spawn } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { checkLockfile, type Lockfile, type PackageJson } from './lockfile-checks.ts';

// `npm audit signatures` fetches the registry's keys and Sigstore's trust root
const SIGNATURE_HOSTS = ['registry.npmjs.org', 'tuf-repo-cdn.sigstore.dev'];
const LOOKUP_TIMEOUT_MS = 3000;
const SIGNATURES_TIMEOUT_MS = 300_000;

async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

async function reachable(host: string): Promise<boolean> {
  const timeout = new Promise<false>((done) => setTimeout(done, LOOKUP_TIMEOUT_MS, false).unref());
  return Promise.race([lookup(host).then(() => true, () => false), timeout]);
}

function auditSignatures(dir: string): Promise<number> {
  return new Promise((done, fail) => {
    const child = spawn('npm', ['audit', 'signatures'], { cwd: dir, stdio: 'inherit', timeout: SIGNATURES_TIMEOUT_MS });
    child.on('error', fail);
    child.on('close', (code) => done(code ?? 1));
  });
}

async function main(args: string[]): Promise<number> {
  const offline = args.includes('--offline');
  const requireSignatures = args.includes('--require-signatures');
  const dir = resolve(args.find((arg) => !arg.startsWith('--')) ?? '.');
  const manifest = await readJson<PackageJson>(join(dir, 'package.json'));
  const lockfile = await readJson<Lockfile>(join(dir, 'package-lock.json'));
  // set by `npm run`: where packages without a `resolved` URL are fetched from
  const report = checkLockfile(manifest, lockfile, process.env.npm_config_registry || undefined);

  for (const problem of report.problems) process.stderr.write(`audit-lockfile: ${problem}\n`);
  if (report.problems.length > 0) return 1;
  process.stdout.write(
    `audit-lockfile: ${report.packages} packages, each an exact registry version with a sha512 integrity; install scripts only for ${report.installScripts.join(', ') || 'none'}\n`,
  );

  if (offline) return 0;
  const unreachable = (await Promise.all(SIGNATURE_HOSTS.map(async (host) => ((await reachable(host)) ? undefined : host)))).filter(Boolean);
  if (unreachable.length > 0) {
    const line = `npm audit signatures skipped: ${unreachable.join(' and ')} cannot be reached; run it on a connected machine`;
    process.stderr.write(`audit-lockfile: ${line}\n`);
    return requireSignatures ? 1 : 0;
  }
  return auditSignatures(dir);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`audit-lockfile: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
