/**
 * Bench child: one @platformatic/kafka producer in a process of its own.
 *  - 'throughput': after the parent's 'go', sends `records` records of `recordBytes` in
 *    batches of `batch` (one request each, `inFlight` at a time, round-robin over its
 *    partitions) and reports its start/end time and CPU.
 *  - 'paced': sends `perTick` records every `tickMs` for `seconds`, each value starting
 *    with its send time (monotonic ms), and reports the send->ack latencies.
 *  - 'wire': the broker's ceiling. No client library: one record batch is encoded once and sent
 *    as raw Produce v3 requests (`inFlight` pipelined on one connection), so what remains
 *    is the broker's own cost (decode, CRC check, append, answer) plus socket I/O.
 * Started by bench/broker.bench.ts through forkBenchChild().
 */
import { Producer, type MessageToProduce } from '@platformatic/kafka';
import { encodeRecordBatch, encodeRequest, WireConnection, WireWriter } from '../test/helpers/kafka-wire.js';
import { benchClientOptions, childConfig, nowMs, ownCpuSeconds, parentSays, runChild, tell, watchStalls, type Stalls } from './broker-proc.js';

interface Common {
  brokers: string[];
  topic: string;
  recordBytes: number;
  acks: -1 | 0 | 1;
}

export interface ThroughputProducerConfig extends Common {
  mode: 'throughput';
  records: number;
  batch: number;
  partitions: number[];
  inFlight: number;
}

export interface PacedProducerConfig extends Common {
  mode: 'paced';
  perTick: number;
  tickMs: number;
  seconds: number;
}

export interface WireProducerConfig extends Omit<ThroughputProducerConfig, 'mode'> {
  mode: 'wire';
}

export type ProducerConfig = ThroughputProducerConfig | PacedProducerConfig | WireProducerConfig;

export interface ThroughputDone { type: 'done'; startMs: number; endMs: number; records: number; cpuSeconds: number }
export interface PacedDone {
  type: 'done';
  sent: number;
  /** send() call to its acknowledgement, ms. */
  ackP50: number;
  ackP99: number;
  ackMax: number;
  /** Ticks that fired more than one tick late (the producer could not keep the rate). */
  lateTicks: number;
  stalls: Stalls;
  cpuSeconds: number;
}

function fill(value: Buffer, prefix: string): Buffer {
  value.fill(0x61);
  value.write(prefix, 0);
  return value;
}

async function throughput(producer: Producer<Buffer, Buffer, Buffer, Buffer>, cfg: ThroughputProducerConfig): Promise<void> {
  const batches = Math.ceil(cfg.records / cfg.batch);
  let next = 0;
  const send = async (b: number): Promise<void> => {
    const partition = cfg.partitions[b % cfg.partitions.length];
    const messages = new Array<MessageToProduce<Buffer, Buffer, Buffer, Buffer>>(cfg.batch);
    for (let i = 0; i < cfg.batch; i++) messages[i] = { topic: cfg.topic, partition, value: fill(Buffer.allocUnsafe(cfg.recordBytes), `${b * cfg.batch + i}:`) };
    await producer.send({ acks: cfg.acks, compression: 'none', messages });
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

async function paced(producer: Producer<Buffer, Buffer, Buffer, Buffer>, cfg: PacedProducerConfig): Promise<void> {
  await parentSays('go');
  const cpu0 = ownCpuSeconds();
  const stop = watchStalls();
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
    const messages = Array.from({ length: cfg.perTick }, () => ({ topic: cfg.topic, value: fill(Buffer.allocUnsafe(cfg.recordBytes), `${sentAt.toFixed(3)}|`) }));
    sent += messages.length;
    sends.push(producer.send({ acks: cfg.acks, compression: 'none', messages }).then(() => { acks.push(nowMs() - sentAt); }));
  }
  await Promise.all(sends);
  const stalls = stop();
  acks.sort((a, b) => a - b);
  const pct = (p: number): number => acks[Math.min(acks.length - 1, Math.floor(p * acks.length))] ?? NaN;
  const done: PacedDone = { type: 'done', sent, ackP50: pct(0.5), ackP99: pct(0.99), ackMax: acks[acks.length - 1] ?? NaN, lateTicks, stalls, cpuSeconds: ownCpuSeconds() - cpu0 };
  tell({ ...done });
}

async function wire(cfg: WireProducerConfig): Promise<void> {
  const [host, port] = cfg.brokers[0].split(':');
  const conn = await WireConnection.open(host, Number(port));
  conn.socket.setNoDelay(true);
  const now = Date.now();
  const batch = encodeRecordBatch(Array.from({ length: cfg.batch }, (_, i) => ({ key: null, value: fill(Buffer.allocUnsafe(cfg.recordBytes), `${i}:`), timestamp: now })));
  const request = (b: number): Buffer => {
    const body = new WireWriter().nullableString(null).int16(cfg.acks).int32(30_000)
      .int32(1).string(cfg.topic).int32(1).int32(cfg.partitions[b % cfg.partitions.length]).bytes(batch).build();
    return encodeRequest(0, 3, b, body, 'bench-wire');
  };
  const batches = Math.ceil(cfg.records / cfg.batch);
  tell({ type: 'ready' });
  await parentSays('go');
  const cpu0 = ownCpuSeconds();
  const startMs = nowMs();
  let sent = 0;
  for (; sent < Math.min(cfg.inFlight, batches); sent++) conn.send(request(sent));
  for (let answered = 0; answered < batches; answered++) {
    const frame = await conn.nextFrame(30_000);
    // Response v3: correlation id, [topic: name, [partition: index, error_code ...]]
    const nameLength = frame.readInt16BE(8);
    const errorCode = frame.readInt16BE(8 + 2 + nameLength + 4 + 4);
    if (errorCode !== 0) throw new Error(`produce answered error ${errorCode}`);
    if (sent < batches) conn.send(request(sent++));
  }
  const done: ThroughputDone = { type: 'done', startMs, endMs: nowMs(), records: batches * cfg.batch, cpuSeconds: ownCpuSeconds() - cpu0 };
  tell({ ...done });
  await parentSays('stop');
  conn.close();
}

runChild(async () => {
  const cfg = childConfig<ProducerConfig>();
  if (cfg.mode === 'wire') return wire(cfg);
  const producer = new Producer<Buffer, Buffer, Buffer, Buffer>(benchClientOptions(cfg.brokers, `bench-producer-${process.pid}`));
  // Load the topic's metadata before the clock starts.
  await producer.metadata({ topics: [cfg.topic] });
  tell({ type: 'ready' });
  if (cfg.mode === 'throughput') await throughput(producer, cfg);
  else await paced(producer, cfg);
  await parentSays('stop');
  await producer.close();
});
