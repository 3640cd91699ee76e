import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    // the suites start real servers and databases; one retry would only hide a race
    retry: 0,
    projects: [
      {
        extends: true,
        test: {
          name: 'postern',
          include: ['tests/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'tests/faults/**'],
          sequence: { groupOrder: 0 },
          globalSetup: ['tests/support/skip-notice.ts'],
        },
      },
      {
        // fault injection measures latencies: it runs after everything else, one file at a time,
        // so no other suite competes for the CPU. POSTERN_FAULTS=all (npm run test:faults) runs
        // every case; otherwise the bounded subset
        extends: true,
        test: { name: 'faults', include: ['tests/faults/**/*.test.ts'], fileParallelism: false, testTimeout: 240_000, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
