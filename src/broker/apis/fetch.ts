/*
 * Fetch (key 1), v4-12; flexible from v12.
 *   Request  => replica_id INT32 max_wait_ms INT32 min_bytes INT32 max_bytes INT32
 *               isolation_level INT8 session_id INT32 (v7+) session_epoch INT32 (v7+)
 *               [topics => topic STRING [partitions => partition INT32
 *                 current_leader_epoch INT32 (v9+) fetch_offset INT64 last_fetched_epoch INT32 (v12+)
 *                 log_start_offset INT64 (v5+) partition_max_bytes INT32 TAG_BUFFER] TAG_BUFFER]
 *               [forgotten_topics_data => topic STRING [partitions INT32] TAG_BUFFER] (v7+)
 *               rack_id STRING (v11+) TAG_BUFFER
 *   Response => throttle_time_ms INT32 error_code INT16 (v7+) session_id INT32 (v7+)
 *               [responses => topic STRING [partitions => partition_index INT32 error_code INT16
 *                 high_watermark INT64 last_stable_offset INT64 log_start_offset INT64 (v5+)
 *                 [aborted_transactions => producer_id INT64 first_offset INT64 TAG_BUFFER] (nullable)
 *                 preferred_read_replica INT32 (v11+) records NULLABLE_BYTES TAG_BUFFER] TAG_BUFFER]
 *               TAG_BUFFER
 * Sessions (KIP-227) are not kept: every answer carries session_id 0, so clients do full fetches.
 */
import type { Reader } from '../protocol/reader.js';
import type { Writer } from '../protocol/writer.js';
import type { ApiDef } from './types.js';

export interface FetchPartitionRequest {
  partition: number;
  fetchOffset: number;
  partitionMaxBytes: number;
}
export interface FetchRequest {
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  isolationLevel: number;
  topics: { topic: string; partitions: FetchPartitionRequest[] }[];
}
export interface FetchPartitionResponse {
  partition: number;
  errorCode: number;
  highWatermark: number;
  logStartOffset: number;
  records: Buffer | null;
}
export interface FetchResponse {
  errorCode: number;
  topics: { topic: string; partitions: FetchPartitionResponse[] }[];
}

function decode(r: Reader, v: number): FetchRequest {
  r.int32(); // replica_id
  const maxWaitMs = r.int32();
  const minBytes = r.int32();
  const maxBytes = r.int32();
  const isolationLevel = r.int8();
  if (v >= 7) {
    r.int32();
    r.int32();
  }
  const topics = r.array((r) => {
    const topic = r.string();
    const partitions = r.array((r) => {
      const partition = r.int32();
      if (v >= 9) r.int32();
      const fetchOffset = r.int64();
      if (v >= 12) r.int32();
      if (v >= 5) r.int64();
      const partitionMaxBytes = r.int32();
      r.tags();
      return { partition, fetchOffset, partitionMaxBytes };
    });
    r.tags();
    return { topic, partitions };
  });
  if (v >= 7) {
    r.array((r) => {
      r.string();
      r.array((r) => r.int32());
      r.tags();
    });
  }
  if (v >= 11) r.string();
  r.tags();
  return { maxWaitMs, minBytes, maxBytes, isolationLevel, topics };
}

function encode(w: Writer, v: number, res: FetchResponse): void {
  w.int32(0);
  if (v >= 7) w.int16(res.errorCode).int32(0);
  w.array(res.topics, (w, t) => {
    w.string(t.topic);
    w.array(t.partitions, (w, p) => {
      w.int32(p.partition).int16(p.errorCode).int64(p.highWatermark).int64(p.highWatermark);
      if (v >= 5) w.int64(p.logStartOffset);
      w.array([], () => {});
      if (v >= 11) w.int32(-1);
      w.nullableBytes(p.records);
      w.tags();
    });
    w.tags();
  });
  w.tags();
}

export const fetchApi: ApiDef<FetchRequest, FetchResponse> = {
  key: 1,
  name: 'Fetch',
  minVersion: 4,
  maxVersion: 12,
  flexibleFrom: 12,
  decode,
  encode,
};
