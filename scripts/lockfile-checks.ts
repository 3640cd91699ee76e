/**
 * What `npm ci` will install, read from package.json and package-lock.json alone (no network):
 * every package comes from the npm registry as an exact version with a sha512 integrity, and only
 * the packages allowed in `allowScripts` have install scripts.
 */

export const REGISTRY = 'https://registry.npmjs.org/';

export interface PackageJson {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  allowScripts?: Record<string, boolean>;
}

export interface LockEntry {
  name?: string;
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  hasInstallScript?: boolean;
}

export interface Lockfile {
  lockfileVersion?: number;
  packages?: Record<string, LockEntry>;
}

export interface LockfileReport {
  problems: string[];
  packages: number;
  installScripts: string[];
}

const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'] as const;
// git, tarball URLs, local folders and GitHub shorthands (owner/repo) bypass the registry
const NOT_FROM_REGISTRY = /^(git|git\+[a-z]+|github|gitlab|bitbucket|gist|file|link|http|https|portal|workspace):|^[^@\s/]+\/[^\s/]/;
const EXACT_VERSION = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
const NODE_MODULES = 'node_modules/';

/** `argon2` from `node_modules/argon2`, `@scope/pkg` from `node_modules/a/node_modules/@scope/pkg`. */
function nameOf(path: string, entry: LockEntry): string {
  return entry.name ?? path.slice(path.lastIndexOf(NODE_MODULES) + NODE_MODULES.length);
}

/** `pkg`, `pkg@1.2.3`, `@scope/pkg@1.2.3` → name and version (undefined: every version). */
function parseApproval(key: string): { name: string; version: string | undefined } {
  const at = key.indexOf('@', key.startsWith('@') ? 1 : 0);
  return at === -1 ? { name: key, version: undefined } : { name: key.slice(0, at), version: key.slice(at + 1) };
}

function checkSpecs(manifest: PackageJson, problems: string[]): void {
  for (const field of DEPENDENCY_FIELDS) {
    for (const [name, spec] of Object.entries(manifest[field] ?? {})) {
      if (NOT_FROM_REGISTRY.test(spec)) problems.push(`package.json ${field}.${name} is "${spec}": only registry versions are allowed`);
    }
  }
}

function checkEntry(path: string, entry: LockEntry, problems: string[]): void {
  if (!path.startsWith(NODE_MODULES) && !path.includes(`/${NODE_MODULES}`)) {
    problems.push(`${path}: a local folder, not a registry package`);
    return;
  }
  if (entry.link) {
    problems.push(`${path}: a link to a local folder, not a registry package`);
    return;
  }
  if (!entry.version || !EXACT_VERSION.test(entry.version)) problems.push(`${path}: version "${entry.version ?? ''}" is not an exact registry version`);
  // without `resolved`, npm fetches name@version from the configured registry (checked below)
  if (entry.resolved !== undefined && !entry.resolved.startsWith(REGISTRY)) problems.push(`${path}: resolved from ${entry.resolved}, not ${REGISTRY}`);
  if (!entry.integrity) problems.push(`${path}: no integrity hash`);
  else if (!entry.integrity.split(/\s+/).every((hash) => hash.startsWith('sha512-'))) problems.push(`${path}: integrity is not sha512 (${entry.integrity.split('-')[0]})`);
}

function checkInstallScripts(manifest: PackageJson, scripted: Array<{ name: string; version: string }>, problems: string[]): void {
  const approvals = Object.entries(manifest.allowScripts ?? {}).map(([key, allowed]) => ({ key, allowed, ...parseApproval(key) }));
  for (const { name, version } of scripted) {
    const approval = approvals.find((candidate) => candidate.name === name && (candidate.version === undefined || candidate.version === version));
    if (!approval) problems.push(`${name}@${version} has an install script and no allowScripts entry in package.json (npm install-scripts ls)`);
  }
  for (const approval of approvals) {
    if (approval.allowed && !scripted.some(({ name, version }) => name === approval.name && (approval.version === undefined || approval.version === version))) {
      problems.push(`allowScripts.${approval.key} allows a package that is not installed with an install script (npm install-scripts prune)`);
    }
  }
}

export function checkLockfile(manifest: PackageJson, lockfile: Lockfile, configuredRegistry: string | undefined): LockfileReport {
  const problems: string[] = [];
  if (!lockfile.packages || (lockfile.lockfileVersion ?? 0) < 2) {
    return { problems: ['package-lock.json has no "packages" map (lockfileVersion 2 or 3 is needed)'], packages: 0, installScripts: [] };
  }
  if (configuredRegistry !== undefined && configuredRegistry.replace(/\/?$/, '/') !== REGISTRY) {
    problems.push(`npm is configured for the registry ${configuredRegistry}, not ${REGISTRY}`);
  }
  checkSpecs(manifest, problems);
  const entries = Object.entries(lockfile.packages).filter(([path]) => path !== '');
  for (const [path, entry] of entries) checkEntry(path, entry, problems);
  const scripted = entries.filter(([, entry]) => entry.hasInstallScript).map(([path, entry]) => ({ name: nameOf(path, entry), version: entry.version ?? '' }));
  checkInstallScripts(manifest, scripted, problems);
  return { problems, packages: entries.length, installScripts: scripted.map(({ name, version }) => `${name}@${version}`) };
}
