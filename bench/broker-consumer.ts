/**
 * Bench child: one @platformatic/kafka consumer (its message stream) in a process of its own.
 *  - 'throughput': reads `records` records from the beginning; the clock
 *    starts when the first Fetch is sent (group join is not counted, the first and
 *    largest response is).
 *  - 'latency': from the end of the topic, takes each record's send time (the monotonic
 *    ms prefix the paced producer wrote) and reports produce->consume latency for records
 *    sent at or after the parent's 'measure' time, plus how long the consumer's Fetch requests
 *    took, to tell a broker that answers late from a client that asks late.
 * Started by bench/broker.bench.ts through forkBenchChild().
 */
import { Consumer, consumerFetchesChannel, type Message, type MessagesStream } from '@platformatic/kafka';
import { benchClientOptions, childConfig, nowMs, ownCpuSeconds, parentSays, runChild, tell, watchStalls, type Stalls } from './broker-proc.js';

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

type BufferStream = MessagesStream<Buffer, Buffer, Buffer, Buffer>;

/** Calls `each` with the duration (ms) of every Fetch the consumer sends, from now on. */
function onFetch(each: (startMs: number, durationMs: number) => void): () => void {
  const started = new WeakMap<object, number>();
  const handlers = {
    start: (ctx: object) => { started.set(ctx, nowMs()); },
    end: () => {},
    asyncStart: () => {},
    asyncEnd: (ctx: object) => {
      const t0 = started.get(ctx);
      if (t0 !== undefined) each(t0, nowMs() - t0);
    },
    error: () => {},
  };
  consumerFetchesChannel.subscribe(handlers);
  return () => consumerFetchesChannel.unsubscribe(handlers);
}

async function throughput(stream: BufferStream, cfg: ThroughputConsumerConfig, clockStart: () => [ms: number, cpu: number]): Promise<void> {
  let seen = 0;
  const finished = new Promise<number>((resolve) => {
    stream.on('data', () => {
      if (++seen === cfg.records) resolve(nowMs());
    });
  });
  tell({ type: 'ready' });
  const endMs = await finished;
  const [startMs, cpu0] = clockStart();
  const done: ThroughputConsumed = { type: 'done', startMs, endMs, records: seen, cpuSeconds: ownCpuSeconds() - cpu0 };
  tell({ ...done });
}

async function latency(stream: BufferStream, fetches: number[]): Promise<void> {
  const samples: number[] = [];
  let measureFrom = Infinity;
  stream.on('data', (m: Message<Buffer, Buffer, Buffer, Buffer>) => {
    if (!m.value) return;
    const now = nowMs();
    const sentAt = Number(m.value.toString('latin1', 0, 24).split('|')[0]);
    if (sentAt >= measureFrom) samples.push(now - sentAt);
  });
  const cpu0 = ownCpuSeconds();
  tell({ type: 'ready' });
  measureFrom = Number((await parentSays('measure')).fromMs);
  fetches.length = 0;
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
  const consumer = new Consumer<Buffer, Buffer, Buffer, Buffer>({
    ...benchClientOptions(cfg.brokers, `bench-consumer-${process.pid}`),
    groupId: `bench-${cfg.mode}-${process.pid}-${Date.now()}`,
    maxWaitTime: cfg.maxWaitTimeInMs,
    minBytes: cfg.minBytes,
    maxBytes: 8 << 20,
  });
  // The throughput clock starts when the first Fetch is sent (group join is not counted).
  let firstFetchMs = 0;
  let firstFetchCpu = 0;
  const fetches: number[] = [];
  const stopWatching = onFetch((startMs, durationMs) => {
    if (firstFetchMs === 0) { firstFetchMs = startMs; firstFetchCpu = ownCpuSeconds(); }
    fetches.push(durationMs);
  });
  const stream = await consumer.consume({ topics: [cfg.topic], mode: cfg.mode === 'throughput' ? 'earliest' : 'latest', autocommit: false });
  stream.on('error', (err: Error) => { throw err; });
  if (cfg.mode === 'throughput') await throughput(stream, cfg, () => [firstFetchMs, firstFetchCpu]);
  else {
    await new Promise<void>((resolve) => stream.once('offsets', () => resolve()));
    await latency(stream, fetches);
  }
  stopWatching();
  await parentSays('stop');
  await stream.close();
  await consumer.close(true);
});
