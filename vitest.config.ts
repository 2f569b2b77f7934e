import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // broker-restart (3 workers, the dev broker killed -9 under them) passes alone but once ended
    // with lower rolling-24h values than the reference under full-suite load: it runs in
    // `npm run test:fleet` (TRIBUTARY_FLEET=1) until that is understood (issue 12).
    exclude: process.env.TRIBUTARY_FLEET ? ['**/node_modules/**'] : ['**/node_modules/**', 'test/runtime/broker-restart.integration.test.ts'],
    // The shared real-Kafka cluster of the Kafka-mode suites (test/helpers/kafka.ts): started on
    // first use, stopped here at the end of the run.
    globalSetup: ['./test/helpers/kafka-global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start real processes (broker, redis, mariadb) on free ports;
    // two cores: keep file-level parallelism modest.
    maxWorkers: 2,
    reporters: ['default', './test/helpers/plain-summary-reporter.ts'],
  },
});
