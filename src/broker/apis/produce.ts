/*
 * Produce (key 0), v3-8 (v0-2 carry pre-v2 message sets, which this broker does not store).
 *   Request  => transactional_id NULLABLE_STRING acks INT16 timeout_ms INT32
 *               [topic_data => name STRING [partition_data => index INT32 records NULLABLE_BYTES]]
 *   Response => [responses => name STRING [partition_responses => index INT32 error_code INT16
 *                 base_offset INT64 log_append_time_ms INT64 log_start_offset INT64 (v5+)
 *                 [record_errors => batch_index INT32 batch_index_error_message NULLABLE_STRING] (v8+)
 *                 error_message NULLABLE_STRING (v8+)]]
 *               throttle_time_ms INT32
 */
import type { Reader } from '../protocol/reader.js';
import type { Writer } from '../protocol/writer.js';
import type { ApiDef } from './types.js';

export interface ProduceRequest {
  transactionalId: string | null;
  acks: number;
  timeoutMs: number;
  topics: { name: string; partitions: { index: number; records: Buffer | null }[] }[];
}
export interface ProducePartitionResponse {
  index: number;
  errorCode: number;
  baseOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
  errorMessage: string | null;
}
export interface ProduceResponse {
  topics: { name: string; partitions: ProducePartitionResponse[] }[];
}

function decode(r: Reader): ProduceRequest {
  return {
    transactionalId: r.nullableString(),
    acks: r.int16(),
    timeoutMs: r.int32(),
    topics: r.array((r) => ({
      name: r.string(),
      partitions: r.array((r) => ({ index: r.int32(), records: r.nullableBytes() })),
    })),
  };
}

function encode(w: Writer, v: number, res: ProduceResponse): void {
  w.array(res.topics, (w, t) => {
    w.string(t.name);
    w.array(t.partitions, (w, p) => {
      w.int32(p.index).int16(p.errorCode).int64(p.baseOffset).int64(p.logAppendTimeMs);
      if (v >= 5) w.int64(p.logStartOffset);
      if (v >= 8) {
        w.array([], () => {});
        w.nullableString(p.errorMessage);
      }
    });
  });
  w.int32(0);
}

export const produceApi: ApiDef<ProduceRequest, ProduceResponse> = {
  key: 0,
  name: 'Produce',
  minVersion: 3,
  maxVersion: 8,
  flexibleFrom: Infinity,
  decode,
  encode,
};
