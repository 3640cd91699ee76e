import { isScenario, SCENARIOS, type ScenarioName } from './scenarios.ts';

export interface BenchOptions {
  /** seconds per measurement; default 10 (smoke: 1) */
  seconds: number;
  scenarios: ScenarioName[];
  /** default 1, 10, 50 (smoke: 1) */
  concurrency: number[];
  /** Postern process counts to measure, e.g. [1, 2]; default [1] */
  workers: number[];
  /** which servers: postern and/or baseline; default both */
  targets: Array<'postern' | 'baseline'>;
  /** refresh tokens harvested through code flows before the refresh scenario; default 2000 (smoke: 60) */
  pool: number;
  /** seconds of unrecorded load before each scenario's first measurement; default 2 (smoke: 0) */
  warmup: number;
  smoke: boolean;
  /** re-run the Postern scenarios after seeding `largeCount` accounts and refresh tokens */
  large: boolean;
  largeCount: number;
  /** hardware probe durations, seconds */
  signSeconds: number;
  argonSeconds: number;
  /** minutes of mixed load on one fresh Postern process, RSS sampled every second (bench/lib/soak.ts) */
  soak?: number;
  /** soak: connections per autocannon scenario; default 10 */
  soakConcurrency: number;
  /** soak: concurrent code flows; default 2 */
  soakFlows: number;
  /** run the scenario matrix: always, except with --soak when no matrix flag is given */
  matrix: boolean;
  /** Postern records Prometheus metrics (POSTERN_METRICS_TOKEN set); default off, as in a plain deployment */
  metrics: boolean;
}

/** With --soak, the matrix runs as well only when one of these asks for it. */
const MATRIX_FLAGS = ['--smoke', '--seconds', '--scenarios', '--concurrency', '--workers', '--targets', '--large'];

/**
 * The soak's introspection and userinfo load reuses one opaque access token obtained before the
 * load starts; it lives POSTERN_ACCESS_TOKEN_TTL (default 3600 s), so the soak must end before that.
 */
export const SOAK_MAX_MINUTES = 55;

export const USAGE = `usage: npm run bench -- [options]
  --seconds N          seconds per measurement (default 10)
  --scenarios a,b      subset of: ${SCENARIOS.join(', ')}
  --concurrency 1,10   connections / concurrent flows (default 1,10,50)
  --workers 1,2        Postern process counts to measure (node:cluster; default 1)
  --targets a,b        postern, baseline (default both)
  --pool N             refresh tokens harvested through code flows (default 1000; smoke 20)
  --warmup N           unrecorded seconds before each scenario (default 2)
  --large              then seed 1M accounts + 1M refresh tokens and run Postern again
  --large-count N      rows for --large (default 1000000)
  --smoke              1 s, concurrency 1, every scenario, small pools; exits 1 on any error
  --metrics            Postern records Prometheus metrics (POSTERN_METRICS_TOKEN set) while measured
  --soak MINUTES       leak check: MINUTES (fractions allowed, at most ${SOAK_MAX_MINUTES}) of mixed load on one
                       fresh Postern process, RSS every second, RSS at the end vs at 1 min; alone
                       unless a matrix flag (${MATRIX_FLAGS.join(' ')}) is given too
  --soak-concurrency N connections per HTTP scenario during the soak (default 10)
  --soak-flows N       concurrent code flows during the soak (default 2)
environment: BENCH_NODE_ARGS (extra node flags for Postern, e.g. --cpu-prof),
             BENCH_BASELINE_NODE_ARGS, BENCH_DATABASE_URL, BENCH_REDIS_URL`;

function list(raw: string, flag: string): string[] {
  const items = raw.split(',').map((item) => item.trim()).filter(Boolean);
  if (items.length === 0) throw new TypeError(`${flag} needs a value`);
  return items;
}

function positiveInts(raw: string, flag: string): number[] {
  return list(raw, flag).map((item) => {
    const value = Number(item);
    if (!Number.isInteger(value) || value < 1) throw new TypeError(`${flag}: "${item}" is not a positive whole number`);
    return value;
  });
}

export function parseOptions(argv: string[]): BenchOptions {
  const smoke = argv.includes('--smoke');
  const options: BenchOptions = {
    seconds: smoke ? 1 : 10,
    scenarios: [...SCENARIOS],
    concurrency: smoke ? [1] : [1, 10, 50],
    workers: [1],
    targets: ['postern', 'baseline'],
    pool: smoke ? 20 : 1000,
    warmup: smoke ? 0 : 2,
    smoke,
    large: false,
    largeCount: 1_000_000,
    signSeconds: smoke ? 0.5 : 2,
    argonSeconds: smoke ? 1 : 3,
    soakConcurrency: 10,
    soakFlows: 2,
    matrix: true,
    metrics: false,
  };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i]!;
    const value = () => {
      const next = argv[i + 1];
      if (next === undefined) throw new TypeError(`${flag} needs a value`);
      i += 1;
      return next;
    };
    switch (flag) {
      case '--smoke':
        break;
      case '--seconds':
        options.seconds = positiveInts(value(), flag)[0]!;
        break;
      case '--scenarios':
        options.scenarios = list(value(), flag).map((name) => {
          if (!isScenario(name)) throw new TypeError(`unknown scenario "${name}" (known: ${SCENARIOS.join(', ')})`);
          return name;
        });
        break;
      case '--concurrency':
        options.concurrency = positiveInts(value(), flag);
        break;
      case '--workers':
        options.workers = positiveInts(value(), flag);
        break;
      case '--targets':
        options.targets = list(value(), flag).map((name) => {
          if (name !== 'postern' && name !== 'baseline') throw new TypeError(`unknown target "${name}" (postern, baseline)`);
          return name;
        });
        break;
      case '--pool':
        options.pool = positiveInts(value(), flag)[0]!;
        break;
      case '--warmup':
        options.warmup = Number(value());
        break;
      case '--large':
        options.large = true;
        break;
      case '--metrics':
        options.metrics = true;
        break;
      case '--large-count':
        options.largeCount = positiveInts(value(), flag)[0]!;
        break;
      case '--soak': {
        const raw = value();
        const minutes = Number(raw);
        if (!Number.isFinite(minutes) || minutes <= 0 || minutes > SOAK_MAX_MINUTES) {
          throw new TypeError(`--soak: "${raw}" is not a number of minutes above 0 and at most ${SOAK_MAX_MINUTES}`);
        }
        options.soak = minutes;
        break;
      }
      case '--soak-concurrency':
        options.soakConcurrency = positiveInts(value(), flag)[0]!;
        break;
      case '--soak-flows':
        options.soakFlows = positiveInts(value(), flag)[0]!;
        break;
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        throw new TypeError(`unknown option ${flag}\n${USAGE}`);
    }
  }
  if (options.soak !== undefined) {
    options.matrix = argv.some((flag) => MATRIX_FLAGS.includes(flag));
    // the soak measures Postern only; the baseline runs only when the matrix is asked for too
    if (!options.matrix) options.targets = ['postern'];
  }
  const highest = Math.max(...(options.matrix ? options.concurrency : []), ...(options.soak !== undefined ? [options.soakConcurrency] : []));
  if (options.pool < highest * 2) {
    throw new TypeError(`--pool must be at least twice the highest concurrency (${highest * 2})`);
  }
  return options;
}
