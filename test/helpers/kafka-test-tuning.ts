/**
 * Test tuning shared by both brokers under test (the dev broker as groupMinSessionTimeoutMs, the
 * real cluster as group.min.session.timeout.ms): suites use short sessions to see a dead member
 * go quickly. Kafka's own minimum (6 s) stays the dev broker's default everywhere else.
 */
export const TEST_MIN_SESSION_TIMEOUT_MS = 500;

/**
 * JVM flags of the nodes (the script's KAFKA_HEAP_OPTS): the script's heap, and C1 only. A node
 * (re)start is mostly class loading and JIT compiling; on a small, loaded machine C2's compile
 * threads took a restart from ~15 s to over a minute. A few hundred records a second need no C2.
 * A broker's start to ready: 4.1 s of CPU with C1 only, 9.7 s with C2 (1 broker, measured
 * here); idle, 0.8 s against 1.1 s per 20 s. The shared test Kafka (kafka-start.ts) runs so too.
 */
export const NODE_JVM_OPTS = process.env.KAFKA_HEAP_OPTS ?? '-Xmx512m -Xms128m -XX:TieredStopAtLevel=1';
