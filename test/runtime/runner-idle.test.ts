/**
 * --exit-when-idle and Kafka outages: while a call is being retried through an outage no input
 * can arrive, and that is not idleness. Seen in the cluster fault test: a fetch retried for 11 s
 * while a killed leader's partitions moved, and every worker of the fleet (--exit-when-idle 10s)
 * exited with its input unread.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { runEngine } from '../../src/runtime/runner.js';
import type { Engine } from '../../src/runtime/engine.js';
import { KafkaRetrier } from '../../src/kafka/retry.js';
import { KafkaClientError } from '../../src/kafka/client.js';

/** The parts of an Engine the run loop reads: one source that never has a record. */
function quietEngine(): Engine {
  const fake = {
    plan: { checkpointIntervalMs: 3_600_000 },
    counters: { get: () => 0 },
    sources: [{ source: { poll: async () => ({ partition: 0, records: [] }) }, exhausted: false }],
    sinks: new Map(),
    inputs: undefined,
    settling: false,
    stateBackend: { wantsCheckpoint: false, overBudget: false },
    checkpointInFlight: false,
    checkpointsHeld: false,
    updateWatermark: () => undefined,
    endOfInput: () => undefined,
  };
  return fake as unknown as Engine;
}

const IDLE_MS = 150;

describe('runEngine --exit-when-idle', () => {
  it('exits once no input arrived for the idle time', async () => {
    const result = await runEngine(quietEngine(), { exitWhenIdleMs: IDLE_MS });
    expect(result.reason).toBe('idle');
  });

  it('does not count a Kafka outage being retried as idle time', async () => {
    const retrier = new KafkaRetrier({ timeoutMs: 60_000, brokers: ['127.0.0.1:1'], backoffMs: 10, maxBackoffMs: 20 });
    let outage = true;
    // A fetch failing with a retriable error until the outage ends (as a leader restart makes it).
    const fetching = retrier.run('kafka fetch', async () => {
      if (outage) throw new KafkaClientError('kafka fetch: Connection closed', true);
      return [];
    });
    let finished = false;
    const run = runEngine(quietEngine(), { exitWhenIdleMs: IDLE_MS }).finally(() => (finished = true));
    // The run would have idled out several times over by now.
    await sleep(IDLE_MS * 5);
    expect(finished, 'the worker left while Kafka was being retried').toBe(false);
    outage = false;
    await fetching;
    expect((await run).reason).toBe('idle');
  });
});
