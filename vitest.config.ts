import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: process.env.TRIBUTARY_ACCEPTANCE ? ['test/**/*.acceptance.test.ts'] : ['test/**/*.test.ts'],
    // Fleet acceptance runs (many worker processes, minutes) are `npm run test:acceptance`:
    // the fleet test still diverges on some rebalance patterns under load (see the issue notes).
    exclude: process.env.TRIBUTARY_ACCEPTANCE
      ? ['**/node_modules/**']
      : ['**/node_modules/**', 'test/**/*.acceptance.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start real processes (broker, redis, mariadb) on free ports;
    // two cores: keep file-level parallelism modest.
    maxWorkers: 2,
    reporters: ['default', './test/helpers/plain-summary-reporter.ts'],
  },
});
