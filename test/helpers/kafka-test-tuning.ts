/**
 * Test tuning shared by both brokers under test (the dev broker as groupMinSessionTimeoutMs, the
 * real cluster as group.min.session.timeout.ms): suites use short sessions to see a dead member
 * go quickly. Kafka's own minimum (6 s) stays the dev broker's default everywhere else.
 */
export const TEST_MIN_SESSION_TIMEOUT_MS = 500;
