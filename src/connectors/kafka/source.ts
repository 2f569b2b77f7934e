/**
 * Kafka source: one topic read through the worker's consumer-group membership. The runtime
 * (runtime/kafka-tasks.ts) owns the membership — one per worker for every Kafka input, so a
 * task's inputs move together — and attaches each source to it; this class only turns the
 * messages of its topic into RawRecords. Positions are the next offsets to read.
 */
import type { KafkaInputSource, RawRecord, Source, SourceBatch, SourceContext } from '../types.js';
import type { KafkaSourceConfig } from './spec.js';
import type { ConsumedMessage } from '../../kafka/client.js';
import type { KafkaGroupInput } from '../../kafka/group-input.js';
import { parseBrokers } from '../../kafka/create-client.js';
import { TributaryError } from '../../core/errors.js';

export class KafkaSource implements Source {
  readonly brokers: string[];
  private input: KafkaGroupInput | undefined;
  private partitions = 0;

  constructor(
    readonly name: string,
    readonly config: KafkaSourceConfig,
    /** Overrides the topic (repartition inputs). */
    readonly topic: string = config.topic,
  ) {
    this.brokers = parseBrokers(config.brokers, `kafka source '${name}'`);
  }

  get partitionCount(): number {
    return this.partitions;
  }

  /** The runtime tells the source its topic's partition count and the shared membership. */
  attach(input: KafkaGroupInput, partitionCount: number): void {
    this.input = input;
    this.partitions = partitionCount;
  }

  async open(_ctx: SourceContext): Promise<void> {
    if (!this.input) throw new TributaryError('TRIB_INTERNAL', `kafka source '${this.name}' opened before the runtime attached it to a consumer group`);
  }

  assignedPartitions(): readonly number[] {
    return this.input?.partitions() ?? [];
  }

  seek(partition: number, position: number): void {
    this.input?.seek(this.topic, partition, BigInt(position));
  }

  async poll(max: number): Promise<SourceBatch | null> {
    const batch = this.input?.poll(this.topic, max);
    if (!batch) return { partition: 0, records: [] };
    return { partition: batch.partition, records: batch.messages.map(toRaw) };
  }

  waitReadable(ms: number): Promise<void> {
    return this.input ? this.input.waitReadable(ms) : new Promise((r) => setTimeout(r, ms));
  }

  remaining(): number | undefined {
    return undefined;
  }

  async close(): Promise<void> {
    // The membership is closed by the runtime (it revokes and checkpoints every task first).
  }

  asKafkaInput(): KafkaInputSource {
    return {
      topic: this.topic,
      brokers: this.brokers,
      clientId: this.config.clientId,
      sessionTimeoutMs: this.config.sessionTimeout,
      startFrom: this.config.startFrom ?? 'committed',
      autoOffsetReset: this.config.autoOffsetReset ?? 'earliest',
      attach: (input, partitionCount) => this.attach(input, partitionCount),
      forTopic: (id, topic) => new KafkaSource(id, this.config, topic),
    };
  }
}

export function toRaw(m: ConsumedMessage): RawRecord {
  const raw: RawRecord = {
    offset: Number(m.offset),
    timestamp: m.timestamp,
    key: m.key === null ? null : m.key.toString('utf8'),
    value: m.value ?? new Uint8Array(0),
  };
  if (hasAny(m.headers)) raw.headers = m.headers;
  return raw;
}

/** Whether an object has an own key, without Object.keys' array (this runs once per record). */
function hasAny(o: object): boolean {
  for (const k in o) if (Object.hasOwn(o, k)) return true;
  return false;
}
