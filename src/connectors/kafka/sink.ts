/**
 * Kafka sink. One writeBatch = one produce call that resolves when the batch is acknowledged
 * (acks=all by default), so a checkpoint never counts output the cluster does not hold.
 * At least once: after a crash the records since the last checkpoint are produced again.
 * Without an explicit partition the client's default partitioner places a record by the
 * murmur2 hash of its key bytes, as the Java client does.
 * Values are encoded by the configured format (json, avro, Confluent-framed avro whose schema id
 * is registered under `<topic>-value` before the first batch); a row the format cannot encode is
 * rejected to the dead-letter output and the rest of its batch is written.
 */
import { TributaryError, errorMessage } from '../../core/errors.js';
import type { Value } from '../../core/record.js';
import { ByteArena } from '../../formats/json-bytes.js';
import { createFormat, type Format } from '../../formats/registry.js';
import { formatFromConfig, isFormatConfigProblem } from '../../formats/spec.js';
import { BatchingSink, type BatchingSinkOptions } from '../sink-base.js';
import type { SinkRecord } from '../types.js';
import { createKafkaClient, parseBrokers } from '../../kafka/create-client.js';
import {
  KafkaClientError,
  type KafkaAcks,
  type KafkaClient,
  type KafkaClientOptions,
  type KafkaHeaders,
  type KafkaProducer,
  type ProduceMessage,
} from '../../kafka/client.js';
import type { KafkaSinkConfig } from './spec.js';
import { compileTemplate, type Template } from './template.js';

/**
 * Records per write. A write runs when the worker's event loop turns, which it does between
 * poll batches: a small batch caps the sink at one small request per turn and the output falls
 * behind (bench/kafka-e2e.bench.ts: 500 left ~90% of the output to the checkpoint's flush).
 */
const DEFAULT_BATCH = 5_000;
/** Bytes per produce request: Kafka's default max.request.size is 1 MiB (and max.message.bytes about as much). */
const MAX_REQUEST_BYTES = 900_000;
/** Rough per-record overhead in a record batch (length, attributes, deltas). */
const RECORD_OVERHEAD = 20;

export interface KafkaSinkOptions extends BatchingSinkOptions {
  /** Client-level tuning (tests shorten timeouts); brokers and clientId come from the config. */
  client?: Partial<Pick<KafkaClientOptions, 'retries' | 'connectionTimeoutMs' | 'requestTimeoutMs' | 'retryTimeoutMs'>>;
}

/** The record key as bytes when no key template is given: text as UTF-8, other values as JSON. */
export function defaultKeyBytes(key: Value, arena?: ByteArena): Buffer | null {
  if (key === null) return null;
  const text = typeof key === 'string' ? key : JSON.stringify(key);
  return arena ? arena.text(text) : Buffer.from(text, 'utf8');
}

/** An encode error that is the format's, not the record's. */
class FormatFailure extends Error {
  constructor(override readonly cause: TributaryError) {
    super(cause.message);
  }
}

/** The value format from the config; schema files are read now, a registry is asked at the first write. */
function sinkFormat(config: KafkaSinkConfig, where: string): Format {
  const spec = formatFromConfig(config.format ?? 'json', 'write');
  if (isFormatConfigProblem(spec)) throw new TributaryError('TRIB_USAGE', `${where}: format: ${spec.message}`);
  return createFormat(spec, { encode: true, subject: `${config.topic}-value` });
}

export class KafkaSink extends BatchingSink {
  private readonly brokers: string[];
  private readonly topic: string;
  private readonly keyTemplate: Template | undefined;
  private readonly headerTemplates: Array<[string, Template]>;
  /** The headers when no template refers to a field: one object for every message (encoded once per batch). */
  private readonly fixedHeaders: KafkaHeaders | undefined;
  /** Key bytes, written into shared chunks rather than one Buffer per record. */
  private readonly keys = new ByteArena(64 * 1024);
  private readonly format: Format;
  private readonly acks: KafkaAcks;
  private readonly config: KafkaSinkConfig;
  private readonly clientTuning: KafkaSinkOptions['client'];
  private client: KafkaClient | undefined;
  private producer: KafkaProducer | undefined;

  constructor(name: string, config: KafkaSinkConfig, options: KafkaSinkOptions = {}) {
    super(name, { ...options, batchSize: options.batchSize ?? DEFAULT_BATCH, lingerMs: options.lingerMs ?? config.linger });
    const where = `kafka sink '${name}'`;
    this.config = config;
    this.brokers = parseBrokers(config.brokers, where);
    this.topic = config.topic;
    this.keyTemplate = config.key === undefined ? undefined : compileTemplate(config.key);
    this.headerTemplates = Object.entries(config.headers ?? {}).map(([h, t]) => [h, compileTemplate(t)]);
    if (this.headerTemplates.length > 0 && this.headerTemplates.every(([, t]) => t.fields.length === 0)) {
      const fixed: KafkaHeaders = {};
      for (const [h, t] of this.headerTemplates) fixed[h] = Buffer.from(t.render({ key: null, row: {} }), 'utf8');
      this.fixedHeaders = Object.freeze(fixed);
    }
    this.format = sinkFormat(config, where);
    this.acks = (config.acks ?? 'all') === '1' ? 1 : 'all';
    this.clientTuning = options.client;
  }

  protected override async connect(): Promise<void> {
    const log = this.logger;
    const client = await createKafkaClient({
      brokers: this.brokers,
      clientId: this.config.clientId ?? `tributary-${this.name}`,
      log: { warn: (m, f) => log.warn(m, { sink: this.name, ...f }), error: (m, f) => log.error(m, { sink: this.name, ...f }) },
      ...this.clientTuning,
    });
    try {
      this.producer = await client.producer({ compression: this.config.compression ?? 'none' });
    } catch (err) {
      await client.disconnect();
      throw this.wrap(err, 'cannot connect');
    }
    this.client = client;
  }

  protected override async disconnect(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.producer = undefined;
    await client?.disconnect();
  }

  protected async writeBatch(batch: SinkRecord[]): Promise<void> {
    if (!this.producer) throw new TributaryError('TRIB_SINK', `kafka sink '${this.name}' is not open`);
    if (this.format.prepareEncode) {
      // Once per run (then at once): a registry that is down makes the batch retry, not dead-letter.
      try {
        await this.format.prepareEncode();
      } catch (err) {
        throw this.wrap(err, `value format ${this.format.name}`);
      }
    }
    // Requests of at most ~MAX_REQUEST_BYTES, in order, each acknowledged before the next.
    const requests: ProduceMessage[][] = [];
    let current: ProduceMessage[] = [];
    let bytes = 0;
    for (const record of batch) {
      const message = this.toMessage(record);
      if (!message) continue;
      let size = (message.key?.length ?? 0) + (message.value?.length ?? 0) + RECORD_OVERHEAD;
      if (message.headers) for (const h in message.headers) size += h.length + message.headers[h]!.length;
      if (bytes + size > MAX_REQUEST_BYTES && current.length > 0) {
        requests.push(current);
        current = [];
        bytes = 0;
      }
      current.push(message);
      bytes += size;
    }
    if (current.length > 0) requests.push(current);
    for (const messages of requests) {
      try {
        await this.producer.send(this.topic, messages, { acks: this.acks });
      } catch (err) {
        throw this.wrap(err, `producing ${messages.length} record(s) to '${this.topic}' failed`);
      }
    }
  }

  /** The record as a Kafka message, or undefined after rejecting it (it goes to the DLQ). */
  private toMessage(record: SinkRecord): ProduceMessage | undefined {
    try {
      const input = { key: record.key, row: record.value };
      const key = this.keyTemplate ? this.keys.text(this.keyTemplate.render(input)) : defaultKeyBytes(record.key, this.keys);
      let encoded: Uint8Array;
      try {
        encoded = this.format.encode(record.value);
      } catch (err) {
        // Not this record's fault (no schema id yet, a misconfigured format): fail the batch instead.
        if (err instanceof TributaryError && err.code !== 'TRIB_RECORD_INVALID') throw new FormatFailure(err);
        throw err;
      }
      // Any Uint8Array goes into the record batch as it is (no Buffer view per record).
      // A non-finite event time would reach the broker as garbage; let the broker stamp it instead.
      // (Both literals whole: a property added afterwards costs an out-of-object store per message.)
      const message: ProduceMessage = Number.isFinite(record.timestamp) ? { key, value: encoded, timestamp: record.timestamp } : { key, value: encoded };
      if (this.fixedHeaders) message.headers = this.fixedHeaders;
      else if (this.headerTemplates.length > 0) {
        message.headers = {};
        for (const [name, template] of this.headerTemplates) message.headers[name] = Buffer.from(template.render(input), 'utf8');
      }
      return message;
    } catch (err) {
      if (err instanceof FormatFailure) throw this.wrap(err.cause, `value format ${this.format.name}`);
      this.rejectRecord(record, `kafka sink '${this.name}': cannot encode record: ${errorMessage(err)}`);
      return undefined;
    }
  }

  private wrap(err: unknown, what: string): TributaryError {
    const retriable = err instanceof KafkaClientError ? err.retriable : err instanceof TributaryError && err.retriable;
    return new TributaryError('TRIB_SINK', `kafka sink '${this.name}': ${what}: ${errorMessage(err)}`, { cause: err, retriable });
  }
}
