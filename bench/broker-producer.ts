/**
 * Bench child: one kafkajs producer in a process of its own.
 *  - 'throughput': after the parent's 'go', sends `records` records of `recordBytes` in
 *    batches of `batch` (one request each, `inFlight` at a time, round-robin over its
 *    partitions) and reports its start/end time and CPU.
 *  - 'paced': sends `perTick` records every `tickMs` for `seconds`, each value starting
 *    with its send time (monotonic ms), and reports the send->ack latencies.
 * Started by bench/broker.bench.ts through forkBenchChild().
 */
import { CompressionTypes, type Message, type Producer } from 'kafkajs';
import { benchKafka, childConfig, nowMs, ownCpuSeconds, parentSays, runChild, tell } from './broker-proc.js';

interface Common {
  brokers: string[];
  topic: string;
  recordBytes: number;
  acks: -1 | 0 | 1;
  noDelay: boolean;
  idempotent: boolean;
}

export interface ThroughputProducerConfig extends Common {
  mode: 'throughput';
  records: number;
  batch: number;
  partitions: number[];
  inFlight: number;
  /** 'send': one send() of `batch` messages; 'sendBatch': the same through sendBatch(). */
  api: 'send' | 'sendBatch';
  /** Give each message its timestamp (kafkajs otherwise calls Date.now() per message). */
  timestamps: boolean;
}

export interface PacedProducerConfig extends Common {
  mode: 'paced';
  perTick: number;
  tickMs: number;
  seconds: number;
}

export type ProducerConfig = ThroughputProducerConfig | PacedProducerConfig;

export interface ThroughputDone { type: 'done'; startMs: number; endMs: number; records: number; cpuSeconds: number }
export interface PacedDone { type: 'done'; sent: number; ackP50: number; ackP99: number; ackMax: number; lateTicks: number; cpuSeconds: number }

function fill(value: Buffer, prefix: string): Buffer {
  value.fill(0x61);
  value.write(prefix, 0);
  return value;
}

async function throughput(producer: Producer, cfg: ThroughputProducerConfig): Promise<void> {
  const batches = Math.ceil(cfg.records / cfg.batch);
  let next = 0;
  const send = async (b: number): Promise<void> => {
    const partition = cfg.partitions[b % cfg.partitions.length];
    const ts = String(Date.now());
    const messages: Message[] = new Array<Message>(cfg.batch);
    for (let i = 0; i < cfg.batch; i++) {
      const value = fill(Buffer.allocUnsafe(cfg.recordBytes), `${b * cfg.batch + i}:`);
      messages[i] = cfg.timestamps ? { partition, value, timestamp: ts } : { partition, value };
    }
    const topicMessages = [{ topic: cfg.topic, messages }];
    if (cfg.api === 'sendBatch') await producer.sendBatch({ acks: cfg.acks, compression: CompressionTypes.None, topicMessages });
    else await producer.send({ topic: cfg.topic, acks: cfg.acks, compression: CompressionTypes.None, messages });
  };
  const worker = async (): Promise<void> => {
    for (let b = next++; b < batches; b = next++) await send(b);
  };
  await parentSays('go');
  const cpu0 = ownCpuSeconds();
  const startMs = nowMs();
  await Promise.all(Array.from({ length: cfg.inFlight }, worker));
  const done: ThroughputDone = { type: 'done', startMs, endMs: nowMs(), records: batches * cfg.batch, cpuSeconds: ownCpuSeconds() - cpu0 };
  tell({ ...done });
}

async function paced(producer: Producer, cfg: PacedProducerConfig): Promise<void> {
  await parentSays('go');
  const cpu0 = ownCpuSeconds();
  const acks: number[] = [];
  const sends: Array<Promise<void>> = [];
  const start = nowMs();
  let lateTicks = 0;
  let sent = 0;
  // Ticks are scheduled against absolute time so timer drift does not lower the rate.
  for (let tick = 0; ; tick++) {
    const due = start + tick * cfg.tickMs;
    if (due - start >= cfg.seconds * 1_000) break;
    const wait = due - nowMs();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    else if (wait < -cfg.tickMs) lateTicks++;
    const sentAt = nowMs();
    const messages = Array.from({ length: cfg.perTick }, () => ({ value: fill(Buffer.allocUnsafe(cfg.recordBytes), `${sentAt.toFixed(3)}|`) }));
    sent += messages.length;
    sends.push(producer.send({ topic: cfg.topic, acks: cfg.acks, compression: CompressionTypes.None, messages }).then(() => { acks.push(nowMs() - sentAt); }));
  }
  await Promise.all(sends);
  acks.sort((a, b) => a - b);
  const pct = (p: number): number => acks[Math.min(acks.length - 1, Math.floor(p * acks.length))] ?? NaN;
  const done: PacedDone = { type: 'done', sent, ackP50: pct(0.5), ackP99: pct(0.99), ackMax: acks[acks.length - 1] ?? NaN, lateTicks, cpuSeconds: ownCpuSeconds() - cpu0 };
  tell({ ...done });
}

runChild(async () => {
  const cfg = childConfig<ProducerConfig>();
  const kafka = benchKafka(cfg.brokers, `bench-producer-${process.pid}`, cfg.noDelay);
  const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: cfg.idempotent, maxInFlightRequests: cfg.idempotent ? 1 : undefined });
  await producer.connect();
  // Load the topic's metadata before the clock starts.
  await producer.send({ topic: cfg.topic, acks: cfg.acks, messages: [] }).catch(() => {});
  tell({ type: 'ready' });
  if (cfg.mode === 'throughput') await throughput(producer, cfg);
  else await paced(producer, cfg);
  await parentSays('stop');
  await producer.disconnect();
});
