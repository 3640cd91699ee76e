/**
 * Vitest global setup: says once, before the run, why the PostgreSQL and Redis runs will be
 * reported as skipped, instead of leaving a bare count of skipped tests to puzzle over.
 */
export default function announceSkippedBackends(): void {
  const unset = ['TEST_DATABASE_URL', 'TEST_REDIS_URL'].filter((name) => !process.env[name]);
  if (unset.length === 0) return;
  process.stdout.write(
    `\n${unset.join(' and ')} ${unset.length === 1 ? 'is' : 'are'} not set: the suites' runs on PostgreSQL and Redis are skipped ` +
      `and counted as skipped below. Set both to run them (see the README's "Two commands").\n`,
  );
}
