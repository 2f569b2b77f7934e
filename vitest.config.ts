import { defineConfig } from 'vitest/config';
import LongestFirstSequencer from './test/helpers/longest-first-sequencer.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    // The shared real-Kafka cluster of the Kafka-mode suites (test/helpers/kafka.ts): started on
    // first use, stopped here at the end of the run.
    globalSetup: ['./test/helpers/kafka-global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start real processes (brokers, redis, mariadb) on free ports and spend
    // most of their time waiting on them (a broker down for 60 s, a worker's idle bound): three
    // files at a time on two cores, the longest first.
    maxWorkers: 3,
    // Long files first (a fresh clone has no timing cache): see the sequencer.
    sequence: { sequencer: LongestFirstSequencer },
    reporters: ['default', './test/helpers/plain-summary-reporter.ts'],
  },
});
