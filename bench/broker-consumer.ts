/**
 * Bench child: one kafkajs consumer in a process of its own.
 *  - 'throughput': reads `records` records from the beginning with eachBatch; the clock
 *    starts when the first Fetch is sent (group join is not counted, the first and
 *    largest response is).
 *  - 'latency': from the end of the topic, takes each record's send time (the monotonic
 *    ms prefix the paced producer wrote) and reports produce->consume latency for records
 *    sent at or after the parent's 'measure' time, plus how long kafkajs' Fetch requests
 *    took, to tell a broker that answers late from a client that asks late.
 * Started by bench/broker.bench.ts through forkBenchChild().
 */
import type { Consumer } from 'kafkajs';
import { benchKafka, childConfig, nowMs, ownCpuSeconds, parentSays, runChild, tell, watchStalls, type Stalls } from './broker-proc.js';

interface Common {
  brokers: string[];
  topic: string;
  maxWaitTimeInMs: number;
  minBytes: number;
}

export interface ThroughputConsumerConfig extends Common {
  mode: 'throughput';
  records: number;
}

export interface LatencyConsumerConfig extends Common {
  mode: 'latency';
}

export type ConsumerConfig = ThroughputConsumerConfig | LatencyConsumerConfig;

export interface ThroughputConsumed { type: 'done'; startMs: number; endMs: number; records: number; cpuSeconds: number }
export interface LatencySummary {
  type: 'latency';
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Fetch request round trips that returned records: p50/p99/max, ms. */
  fetchP50: number;
  fetchP99: number;
  fetchMax: number;
  /** Samples over 20 ms, to see whether the tail is a few stalls or a spread. */
  over20: number;
  stalls: Stalls;
  cpuSeconds: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

async function throughput(consumer: Consumer, cfg: ThroughputConsumerConfig): Promise<void> {
  let seen = 0;
  let startMs = 0;
  let cpu0 = 0;
  const off = consumer.on(consumer.events.FETCH_START, () => {
    off();
    startMs = nowMs();
    cpu0 = ownCpuSeconds();
  });
  const finished = new Promise<number>((resolve) => {
    void consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        seen += batch.messages.length;
        if (seen >= cfg.records) resolve(nowMs());
      },
    });
  });
  tell({ type: 'ready' });
  const endMs = await finished;
  const done: ThroughputConsumed = { type: 'done', startMs, endMs, records: seen, cpuSeconds: ownCpuSeconds() - cpu0 };
  tell({ ...done });
}

async function latency(consumer: Consumer): Promise<void> {
  const samples: number[] = [];
  const fetches: number[] = [];
  let measureFrom = Infinity;
  const take = (value: Buffer | null): void => {
    if (!value) return;
    const now = nowMs();
    const sentAt = Number(value.toString('latin1', 0, 24).split('|')[0]);
    if (sentAt >= measureFrom) samples.push(now - sentAt);
  };
  consumer.on(consumer.events.REQUEST, (e) => {
    if (e.payload.apiName === 'Fetch' && e.payload.size > 200) fetches.push(e.payload.duration);
  });
  let positioned: () => void = () => {};
  const ready = new Promise<void>((resolve) => { positioned = resolve; });
  const off = consumer.on(consumer.events.FETCH, () => { off(); positioned(); });
  await consumer.run({ autoCommit: false, eachMessage: async ({ message }) => take(message.value) });
  await ready;
  const cpu0 = ownCpuSeconds();
  tell({ type: 'ready' });
  measureFrom = Number((await parentSays('measure')).fromMs);
  const stop = watchStalls();
  await parentSays('collect');
  const stalls = stop();
  samples.sort((a, b) => a - b);
  fetches.sort((a, b) => a - b);
  const summary: LatencySummary = {
    type: 'latency',
    count: samples.length,
    p50: percentile(samples, 0.5),
    p90: percentile(samples, 0.9),
    p99: percentile(samples, 0.99),
    max: samples[samples.length - 1] ?? NaN,
    fetchP50: percentile(fetches, 0.5),
    fetchP99: percentile(fetches, 0.99),
    fetchMax: fetches[fetches.length - 1] ?? NaN,
    over20: samples.filter((s) => s > 20).length,
    stalls,
    cpuSeconds: ownCpuSeconds() - cpu0,
  };
  tell({ ...summary });
}

runChild(async () => {
  const cfg = childConfig<ConsumerConfig>();
  const kafka = benchKafka(cfg.brokers, `bench-consumer-${process.pid}`);
  const consumer = kafka.consumer({
    groupId: `bench-${cfg.mode}-${process.pid}-${Date.now()}`,
    maxWaitTimeInMs: cfg.maxWaitTimeInMs,
    minBytes: cfg.minBytes,
    maxBytes: 32 << 20,
    maxBytesPerPartition: 8 << 20,
    allowAutoTopicCreation: false,
  });
  await consumer.connect();
  await consumer.subscribe({ topic: cfg.topic, fromBeginning: cfg.mode === 'throughput' });
  if (cfg.mode === 'throughput') await throughput(consumer, cfg);
  else await latency(consumer);
  await parentSays('stop');
  await consumer.disconnect();
});
