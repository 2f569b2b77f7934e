/**
 * Produce (key 0) through a platformatic Producer's connections, with record batches from
 * record-batch.ts instead of platformatic's encoder (which costs ~3 µs and a dozen small buffers
 * per record: bench/kafka-e2e.bench.ts spent ~19% of a worker's CPU there). Everything else is
 * platformatic's: the negotiated API version, connections and response parsing, with one
 * repeat after stale metadata (leader moved); other retriable failures are retried by the
 * caller's KafkaRetrier (retry.ts), up to --kafka-retry-timeout.
 *
 *   Request v3-v8  => transactional_id NULLABLE_STRING acks INT16 timeout_ms INT32
 *                     [topic_data => name STRING [partition_data => index INT32 records NULLABLE_BYTES]]
 *   Request v9-v11 => the same, flexible: COMPACT_ strings, arrays and records, and a TAG_BUFFER
 *                     after each partition, each topic and the request.
 *
 * Records of one call keep their order per partition: each partition's records form one batch
 * of one request. Partitioning: an explicit partition (one the topic does not have is refused,
 * as the Java producer refuses it, not wrapped as platformatic wraps it); else Tributary's
 * murmur2 of the key (core/partitioner.ts); else round robin per topic.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  GenericError,
  Writer,
  produceV7,
  produceV8,
  ResponseError,
  type ClusterMetadata,
  type Producer,
} from '@platformatic/kafka';
import { partitionForKey } from '../../core/partitioner.js';
import type { KafkaCompression, KafkaHeaders, ProduceMessage, ProducedBatch } from '../client.js';
import { encodeRecordBatch } from '../record-batch.js';
import { connectionTo, getApi, readFlexibleArray } from './wire.js';

type ProduceResponse = produceV8.ProduceResponse;
type Parser = typeof produceV8.parseResponse;

/**
 * Produce v9-v11 responses (flexible), parsed as platformatic does but skipping tagged fields
 * correctly (wire.ts skipTaggedFields): real Kafka tags a partition response that failed with
 * NOT_LEADER_OR_FOLLOWER with its current_leader, which platformatic's parser misreads.
 *
 *   Response => [responses => name COMPACT_STRING [partition_responses => index INT32 error_code INT16
 *               base_offset INT64 log_append_time_ms INT64 log_start_offset INT64
 *               [record_errors => batch_index INT32 batch_index_error_message COMPACT_NULLABLE_STRING TAG_BUFFER]
 *               error_message COMPACT_NULLABLE_STRING TAG_BUFFER] TAG_BUFFER] throttle_time_ms INT32 TAG_BUFFER
 */
export const parseFlexibleProduceResponse: Parser = (_correlationId, apiKey, apiVersion, r) => {
  const errors: Array<[string, [number, string | null]]> = [];
  const response: ProduceResponse = {
    responses: readFlexibleArray(r, (r, i) => ({
      name: r.readString(),
      partitionResponses: readFlexibleArray(r, (r, j) => {
        const index = r.readInt32();
        const errorCode = r.readInt16();
        const baseOffset = r.readInt64();
        const logAppendTimeMs = r.readInt64();
        const logStartOffset = r.readInt64();
        const recordErrors = readFlexibleArray(r, (r, k) => {
          const batchIndex = r.readInt32();
          const batchIndexErrorMessage = r.readNullableString();
          if (batchIndexErrorMessage) errors.push([`/responses/${i}/partition_responses/${j}/record_errors/${k}`, [-1, batchIndexErrorMessage]]);
          return { batchIndex, batchIndexErrorMessage };
        });
        const errorMessage = r.readNullableString();
        if (errorCode !== 0) errors.push([`/responses/${i}/partition_responses/${j}`, [errorCode, errorMessage]]);
        return { index, errorCode, baseOffset, logAppendTimeMs, logStartOffset, recordErrors, errorMessage };
      }),
    })),
    throttleTimeMs: r.readInt32(),
  };
  if (errors.length > 0) throw new ResponseError(apiKey, apiVersion, Object.fromEntries(errors), response);
  return response;
};

const PARSERS: ReadonlyMap<number, Parser> = new Map<number, Parser>([
  [7, produceV7.parseResponse],
  [8, produceV8.parseResponse],
  [9, parseFlexibleProduceResponse],
  [10, parseFlexibleProduceResponse],
  [11, parseFlexibleProduceResponse],
]);
const PRODUCE_KEY = 0;
/** Sends after stale metadata, the first included (~0.8 s of backoff in all). */
const STALE_ATTEMPTS = 6;
const FIRST_FLEXIBLE = 9;

/** One partition's records, encoded. */
export interface PartitionBatch {
  partition: number;
  records: Buffer;
}

/** A Produce request body for one topic (the records buffers are referenced, not copied). */
export function encodeProduceRequest(version: number, acks: number, timeoutMs: number, topic: string, batches: readonly PartitionBatch[]): Writer {
  const flexible = version >= FIRST_FLEXIBLE;
  const w = Writer.create().appendString(null, flexible).appendInt16(acks).appendInt32(timeoutMs);
  if (flexible) w.appendUnsignedVarInt(2);
  else w.appendInt32(1);
  w.appendString(topic, flexible);
  if (flexible) w.appendUnsignedVarInt(batches.length + 1);
  else w.appendInt32(batches.length);
  for (const b of batches) {
    w.appendInt32(b.partition);
    if (flexible) w.appendUnsignedVarInt(b.records.length + 1);
    else w.appendInt32(b.records.length);
    w.append(b.records);
    if (flexible) w.appendTaggedFields();
  }
  if (flexible) w.appendTaggedFields().appendTaggedFields();
  return w;
}

export interface DirectProducer {
  /** `headers`: of every message without its own (ProduceOptions.headers). */
  send(topic: string, messages: readonly ProduceMessage[], acks: -1 | 1, headers?: KafkaHeaders): Promise<ProducedBatch[]>;
}

/** `timeoutMs`: how long the leader may wait for the in-sync replicas (the request's timeout_ms). */
export function createDirectProducer(p: Producer, compression: KafkaCompression, timeoutMs = 5_000): DirectProducer {
  const roundRobin = new Map<string, number>();

  const metadataOf = (topic: string): Promise<ClusterMetadata> => p.metadata({ topics: [topic] });

  /** One request to `leader` with these batches. */
  const request = async (metadata: ClusterMetadata, leader: number, topic: string, batches: readonly PartitionBatch[], acks: number): Promise<ProduceResponse> => {
    if (!metadata.brokers.has(leader)) {
      throw new GenericError('PLT_KFK_USER', `broker ${leader} is not in the cluster metadata`, { canRetry: true, hasStaleMetadata: true });
    }
    const connection = await connectionTo(p, leader);
    const api = await getApi(p, 'Produce');
    const parse = PARSERS.get(api.version);
    if (!parse) throw new Error(`Produce v${api.version} is not supported`);
    const flexible = api.version >= FIRST_FLEXIBLE;
    return new Promise((resolve, reject) => {
      connection.send(PRODUCE_KEY, api.version, () => encodeProduceRequest(api.version, acks, timeoutMs, topic, batches), parse, flexible, flexible,
        (error, response) => (error || !response ? reject(error ?? new Error('no Produce response')) : resolve(response)));
    });
  };

  /**
   * Sends each batch to its partition's leader. After stale metadata (a leader moved, or is not
   * elected yet right after the topic was created) it sends again, with fresh metadata and a short
   * backoff, ONLY the batches whose partitions failed: a Produce response is per partition, and
   * resending the ones the leader already appended would write them twice.
   */
  const sendAll = async (metadata: ClusterMetadata, topic: string, batches: readonly PartitionBatch[], acks: number, attempt: number): Promise<ProduceResponse[]> => {
    const partitions = metadata.topics.get(topic)!.partitions;
    const byLeader = new Map<number, PartitionBatch[]>();
    for (const b of batches) {
      const leader = partitions[b.partition]?.leader ?? -1;
      let list = byLeader.get(leader);
      if (!list) byLeader.set(leader, (list = []));
      list.push(b);
    }
    const results = await Promise.all([...byLeader].map(async ([leader, list]) => {
      try {
        return [await request(metadata, leader, topic, list, acks)];
      } catch (err) {
        if (attempt >= STALE_ATTEMPTS || !isStale(err)) throw err;
        const partial = partialResponse(err);
        const failed = partial ? list.filter((b) => partial.failed.has(b.partition)) : list;
        await sleep(Math.min(1_000, 25 * 2 ** attempt));
        p.clearMetadata();
        const again = await sendAll(await metadataOf(topic), topic, failed, acks, attempt + 1);
        return partial ? [partial.ok, ...again] : again;
      }
    }));
    return results.flat();
  };

  return {
    async send(topic, messages, acks, headers) {
      if (messages.length === 0) return [];
      let metadata = await metadataOf(topic);
      let count = metadata.topics.get(topic)?.partitionsCount;
      if (count === undefined || count <= 0) throw new GenericError('PLT_KFK_USER', `topic ${topic} has no partitions in the cluster metadata`, { canRetry: true });
      if (outOfRange(messages, count) !== undefined) {
        // Partitions may have been added since the metadata was cached: ask once more.
        p.clearMetadata();
        metadata = await metadataOf(topic);
        count = metadata.topics.get(topic)?.partitionsCount ?? 0;
        const bad = outOfRange(messages, count);
        if (bad !== undefined) {
          throw new GenericError('PLT_KFK_USER', `partition ${bad} of topic ${topic} does not exist: the topic has ${count} partition(s)`, { canRetry: false });
        }
      }
      const byPartition = new Map<number, ProduceMessage[]>();
      for (const m of messages) {
        let partition: number;
        if (m.partition !== undefined) partition = m.partition;
        else if (m.key !== null) partition = partitionForKey(m.key, count);
        else {
          const next = roundRobin.get(topic) ?? 0;
          roundRobin.set(topic, next + 1);
          partition = next % count;
        }
        let list = byPartition.get(partition);
        if (!list) byPartition.set(partition, (list = []));
        list.push(m);
      }
      const now = Date.now();
      const batches: PartitionBatch[] = [];
      for (const [partition, list] of byPartition) batches.push({ partition, records: encodeRecordBatch(list, now, compression, headers) });
      const responses = await sendAll(metadata, topic, batches, acks, 0);
      const out: ProducedBatch[] = [];
      for (const r of responses) {
        for (const t of r.responses) for (const pr of t.partitionResponses) out.push({ topic: t.name, partition: pr.index, baseOffset: pr.baseOffset });
      }
      return out;
    },
  };
}

/** The first explicit partition of these messages outside [0, count), if any. */
function outOfRange(messages: readonly ProduceMessage[], count: number): number | undefined {
  for (const m of messages) {
    if (m.partition !== undefined && !(Number.isInteger(m.partition) && m.partition >= 0 && m.partition < count)) return m.partition;
  }
  return undefined;
}

/**
 * The partitions a Produce ResponseError reports as written (error code 0) and as failed, or
 * undefined when the error carries no response (connection lost: nothing is known).
 */
export function partialResponse(err: unknown): { ok: ProduceResponse; failed: Set<number> } | undefined {
  const response = (err as { response?: unknown } | null)?.response as ProduceResponse | undefined;
  if (!response || !Array.isArray(response.responses)) return undefined;
  const failed = new Set<number>();
  const ok: ProduceResponse = {
    ...response,
    responses: response.responses.map((t) => ({
      ...t,
      partitionResponses: t.partitionResponses.filter((pr) => {
        if (pr.errorCode !== 0) failed.add(pr.index);
        return pr.errorCode === 0;
      }),
    })),
  };
  return { ok, failed };
}

/** A leader moved or is unknown (platformatic flags such protocol errors hasStaleMetadata). */
function isStale(err: unknown): boolean {
  if (!(err instanceof Error) || !GenericError.isGenericError(err)) return false;
  return (err as GenericError).findBy('hasStaleMetadata', true) !== null;
}
