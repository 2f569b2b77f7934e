/*
 * ListOffsets (key 2), v0-5.
 *   Request  => replica_id INT32 isolation_level INT8 (v2+)
 *               [topics => name STRING [partitions => partition_index INT32
 *                 current_leader_epoch INT32 (v4+) timestamp INT64 max_num_offsets INT32 (v0)]]
 *   Response => throttle_time_ms INT32 (v2+)
 *               [topics => name STRING [partitions => partition_index INT32 error_code INT16
 *                 [old_style_offsets INT64] (v0) timestamp INT64 (v1+) offset INT64 (v1+)
 *                 leader_epoch INT32 (v4+)]]
 * timestamp -1 = latest (log end), -2 = earliest (log start), else the first offset whose
 * record timestamp is >= it (-1 when there is none).
 */
import type { Reader } from '../protocol/reader.js';
import type { Writer } from '../protocol/writer.js';
import type { ApiDef } from './types.js';

export interface ListOffsetsRequest {
  topics: { name: string; partitions: { partitionIndex: number; timestamp: number }[] }[];
}
export interface ListOffsetsPartitionResponse {
  partitionIndex: number;
  errorCode: number;
  timestamp: number;
  offset: number;
}
export interface ListOffsetsResponse {
  topics: { name: string; partitions: ListOffsetsPartitionResponse[] }[];
}

function decode(r: Reader, v: number): ListOffsetsRequest {
  r.int32();
  if (v >= 2) r.int8();
  return {
    topics: r.array((r) => ({
      name: r.string(),
      partitions: r.array((r) => {
        const partitionIndex = r.int32();
        if (v >= 4) r.int32();
        const timestamp = r.int64();
        if (v === 0) r.int32();
        return { partitionIndex, timestamp };
      }),
    })),
  };
}

function encode(w: Writer, v: number, res: ListOffsetsResponse): void {
  if (v >= 2) w.int32(0);
  w.array(res.topics, (w, t) => {
    w.string(t.name);
    w.array(t.partitions, (w, p) => {
      w.int32(p.partitionIndex).int16(p.errorCode);
      if (v === 0) {
        w.array(p.offset >= 0 ? [p.offset] : [], (w, o) => w.int64(o));
        return;
      }
      w.int64(p.timestamp).int64(p.offset);
      if (v >= 4) w.int32(0);
    });
  });
}

export const listOffsetsApi: ApiDef<ListOffsetsRequest, ListOffsetsResponse> = {
  key: 2,
  name: 'ListOffsets',
  minVersion: 0,
  maxVersion: 5,
  flexibleFrom: Infinity,
  decode,
  encode,
};
