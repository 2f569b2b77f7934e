/**
 * Fetch (key 1), v12-v17, over a platformatic client's connections: platformatic's request
 * encoder of the negotiated version, and a response parser of our own that keeps each
 * partition's records as views of the pieces the response arrived in (no copy), decoded later
 * by record-batch.ts straight into ConsumedMessages (platformatic's parser builds an object with bigint deltas and header pairs
 * per record first: ~5% of a worker's CPU in bench/kafka-e2e.bench.ts).
 *
 *   Response => throttle_time_ms INT32 error_code INT16 session_id INT32 [responses] TAG_BUFFER
 *     responses => topic COMPACT_STRING (v12) | topic_id UUID (v13+) [partitions] TAG_BUFFER
 *       partitions => partition_index INT32 error_code INT16 high_watermark INT64
 *                     last_stable_offset INT64 log_start_offset INT64
 *                     [aborted_transactions => producer_id INT64 first_offset INT64 TAG_BUFFER] (nullable)
 *                     preferred_read_replica INT32 records COMPACT_RECORDS TAG_BUFFER
 *   (all arrays compact). Errors stay in the response (error codes): the caller handles them per
 * partition, as platformatic's parser would report them.
 */
import {
  compressionsAlgorithmsByBitmask,
  fetchV12,
  fetchV13,
  fetchV14,
  fetchV15,
  fetchV16,
  fetchV17,
  type Connection,
  type Consumer,
  type Reader,
  type Writer,
} from '@platformatic/kafka';
import type { Inflate } from '../record-batch.js';
import { getApi, readFlexibleArray } from './wire.js';

export interface FetchedPartition {
  partitionIndex: number;
  errorCode: number;
  /**
   * The partition's record batches as the broker sent them (possibly a cut-off last one), as views
   * of the socket reads they arrived in (in order; a batch may straddle two).
   */
  records: readonly Buffer[] | undefined;
}

export interface FetchedTopic {
  /** The topic name (v12) or id (v13+). */
  topicId: string;
  partitions: FetchedPartition[];
}

export interface FetchResponse {
  errorCode: number;
  responses: FetchedTopic[];
}

export type FetchArgs = Parameters<typeof fetchV17.createRequest>;

const FETCH_KEY = 1;
const REQUESTS: ReadonlyMap<number, (...args: FetchArgs) => Writer> = new Map<number, (...args: FetchArgs) => Writer>([
  [12, fetchV12.createRequest],
  [13, fetchV13.createRequest],
  [14, fetchV14.createRequest],
  [15, fetchV15.createRequest],
  [16, fetchV16.createRequest],
  [17, fetchV17.createRequest],
]);

export function parseFetchResponse(_correlationId: number, _apiKey: number, version: number, r: Reader): FetchResponse {
  r.readInt32(); // throttle_time_ms
  const errorCode = r.readInt16();
  r.readInt32(); // session_id
  // Tagged fields skipped by our own reader: real Kafka tags partitions (current_leader,
  // diverging_epoch) that platformatic's would misread (wire.ts skipTaggedFields).
  const responses = readFlexibleArray(r, (r) => ({
    topicId: version >= 13 ? r.readUUID() : r.readString(),
    partitions: readFlexibleArray(r, (r): FetchedPartition => {
      const partitionIndex = r.readInt32();
      const errorCode = r.readInt16();
      r.skip(24); // high_watermark, last_stable_offset, log_start_offset
      readFlexibleArray(r, (r) => r.skip(16)); // aborted_transactions: read uncommitted
      r.readInt32(); // preferred_read_replica
      const size = r.readUnsignedVarInt() - 1;
      let records: readonly Buffer[] | undefined;
      if (size > 0) {
        // Views of the pieces the response arrived in, not one copy (record-batch.ts decodes across them).
        records = r.buffer.subarray(r.position, r.position + size).buffers;
        r.skip(size);
      }
      return { partitionIndex, errorCode, records };
    }),
  }));
  return { errorCode, responses };
}

/** Codecs other than gzip (snappy, lz4, zstd) through platformatic's implementations. */
export const inflate: Inflate = (codec, data) => {
  const algorithm = (compressionsAlgorithmsByBitmask as Record<number, { decompressSync(d: Buffer): Buffer } | undefined>)[codec];
  if (!algorithm) throw new Error(`record batch compression codec ${codec} is not supported`);
  return algorithm.decompressSync(data);
};

/** Version of Fetch the client negotiated with the broker. */
export async function fetchVersion(client: Consumer): Promise<number> {
  return (await getApi(client, 'Fetch')).version;
}

/** One Fetch request on `connection` at `version`; resolves with the parsed response. */
export function fetch(connection: Connection, version: number, args: FetchArgs): Promise<FetchResponse> {
  const create = REQUESTS.get(version);
  if (!create) return Promise.reject(new Error(`Fetch v${version} is not supported`));
  return new Promise((resolve, reject) => {
    connection.send<FetchResponse>(FETCH_KEY, version, () => create(...args), parseFetchResponse, true, true, (err, res) =>
      err || !res ? reject(err ?? new Error('no Fetch response')) : resolve(res));
  });
}
