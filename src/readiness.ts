import type { Readiness } from './http/health.ts';

export interface CurrentSigningKey {
  kid: string;
  activatedAt: Date | null;
}

export interface ReadinessSources {
  /** the current signing key as the database names it; a round trip to the database */
  currentKey(): Promise<CurrentSigningKey | undefined>;
  /** a round trip to the ephemeral tier */
  pingKv(): Promise<unknown>;
  /** the ids of the keys the engine holds now */
  engineKids(): readonly string[];
  /** ms a probe's answer is reused; default 1000 */
  cacheMs?: number;
}

interface Probe {
  database: boolean;
  kv: boolean;
  /** the current key, as last read from the database */
  key: CurrentSigningKey | undefined;
}

export interface ProbedReadiness extends Readiness {
  /** the current signing key as last read (by a probe at most `cacheMs` old) */
  currentKey(): Promise<CurrentSigningKey | undefined>;
}

/**
 * Readiness from one round trip to each tier: the database is asked for the current signing key
 * (which also proves it answers), Redis is pinged, and the engine must hold that key. Probes are
 * shared: callers within `cacheMs` of a probe's start, or while it runs, get its answer, so any
 * number of pollers cost at most one probe a second.
 */
export function probedReadiness(sources: ReadinessSources): ProbedReadiness {
  const cacheMs = sources.cacheMs ?? 1000;
  let lastKey: CurrentSigningKey | undefined;
  let cached: { at: number; probe: Promise<Probe> } | undefined;

  async function run(): Promise<Probe> {
    const [key, kv] = await Promise.all([
      sources.currentKey().then((found) => ({ found }), () => undefined),
      sources.pingKv().then(() => true, () => false),
    ]);
    if (key) lastKey = key.found;
    return { database: key !== undefined, kv, key: key ? key.found : lastKey };
  }

  function probe(): Promise<Probe> {
    const now = Date.now();
    if (cached && now - cached.at < cacheMs) return cached.probe;
    cached = { at: now, probe: run() };
    return cached.probe;
  }

  return {
    draining: false,
    async check() {
      const { database, kv, key } = await probe();
      return { database, kv, keys: key !== undefined && sources.engineKids().includes(key.kid) };
    },
    async currentKey() {
      return (await probe()).key;
    },
  };
}
