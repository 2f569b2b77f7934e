/*
 * OffsetCommit (key 8), v0-8; flexible from v8.
 *   Request  => group_id STRING generation_id INT32 (v1+) member_id STRING (v1+)
 *               group_instance_id NULLABLE_STRING (v7+) retention_time_ms INT64 (v2-4)
 *               [topics => name STRING [partitions => partition_index INT32 committed_offset INT64
 *                 committed_leader_epoch INT32 (v6+) commit_timestamp INT64 (v1)
 *                 committed_metadata NULLABLE_STRING TAG_BUFFER] TAG_BUFFER] TAG_BUFFER
 *   Response => throttle_time_ms INT32 (v3+)
 *               [topics => name STRING [partitions => partition_index INT32 error_code INT16 TAG_BUFFER] TAG_BUFFER]
 *               TAG_BUFFER
 */
import type { Reader } from '../protocol/reader.js';
import type { Writer } from '../protocol/writer.js';
import type { ApiDef } from './types.js';

export interface OffsetCommitRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  topics: { name: string; partitions: { partitionIndex: number; offset: number; leaderEpoch: number; metadata: string | null }[] }[];
}
export interface OffsetCommitResponse {
  topics: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[];
}

function decode(r: Reader, v: number): OffsetCommitRequest {
  const groupId = r.string();
  const generationId = v >= 1 ? r.int32() : -1;
  const memberId = v >= 1 ? r.string() : '';
  if (v >= 7) r.nullableString();
  if (v >= 2 && v <= 4) r.int64();
  const topics = r.array((r) => {
    const name = r.string();
    const partitions = r.array((r) => {
      const partitionIndex = r.int32();
      const offset = r.int64();
      const leaderEpoch = v >= 6 ? r.int32() : -1;
      if (v === 1) r.int64();
      const metadata = r.nullableString();
      r.tags();
      return { partitionIndex, offset, leaderEpoch, metadata };
    });
    r.tags();
    return { name, partitions };
  });
  r.tags();
  return { groupId, generationId, memberId, topics };
}

function encode(w: Writer, v: number, res: OffsetCommitResponse): void {
  if (v >= 3) w.int32(0);
  w.array(res.topics, (w, t) => {
    w.string(t.name);
    w.array(t.partitions, (w, p) => w.int32(p.partitionIndex).int16(p.errorCode).tags());
    w.tags();
  });
  w.tags();
}

export const offsetCommitApi: ApiDef<OffsetCommitRequest, OffsetCommitResponse> = {
  key: 8,
  name: 'OffsetCommit',
  minVersion: 0,
  maxVersion: 8,
  flexibleFrom: 8,
  decode,
  encode,
};
