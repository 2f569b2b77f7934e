/*
 * OffsetFetch (key 9), v0-8; flexible from v6.
 *   Request v0-7 => group_id STRING [topics => name STRING [partition_indexes INT32] TAG_BUFFER]
 *                   (nullable = all, v2+) require_stable BOOLEAN (v7+) TAG_BUFFER
 *   Request v8   => [groups => group_id STRING [topics => name STRING [partition_indexes INT32]
 *                   TAG_BUFFER] (nullable) TAG_BUFFER] require_stable BOOLEAN TAG_BUFFER
 *   Response v0-7 => throttle_time_ms INT32 (v3+)
 *                   [topics => name STRING [partitions => partition_index INT32 committed_offset INT64
 *                     committed_leader_epoch INT32 (v5+) metadata NULLABLE_STRING error_code INT16
 *                     TAG_BUFFER] TAG_BUFFER] error_code INT16 (v2+) TAG_BUFFER
 *   Response v8  => throttle_time_ms INT32 [groups => group_id STRING [topics ... as above]
 *                   error_code INT16 TAG_BUFFER] TAG_BUFFER
 */
import type { Reader } from '../protocol/reader.js';
import type { Writer } from '../protocol/writer.js';
import type { ApiDef } from './types.js';

export interface OffsetFetchGroupRequest {
  groupId: string;
  /** null = every committed partition of the group. */
  topics: { name: string; partitions: number[] }[] | null;
}
export interface OffsetFetchRequest {
  groups: OffsetFetchGroupRequest[];
}
export interface OffsetFetchPartition {
  partitionIndex: number;
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
  errorCode: number;
}
export interface OffsetFetchGroupResponse {
  groupId: string;
  errorCode: number;
  topics: { name: string; partitions: OffsetFetchPartition[] }[];
}
export interface OffsetFetchResponse {
  groups: OffsetFetchGroupResponse[];
}

function topicsOf(r: Reader): { name: string; partitions: number[] }[] | null {
  return r.nullableArray((r) => {
    const name = r.string();
    const partitions = r.array((r) => r.int32());
    r.tags();
    return { name, partitions };
  });
}

function decode(r: Reader, v: number): OffsetFetchRequest {
  let groups: OffsetFetchGroupRequest[];
  if (v >= 8) {
    groups = r.array((r) => {
      const groupId = r.string();
      const topics = topicsOf(r);
      r.tags();
      return { groupId, topics };
    });
  } else {
    groups = [{ groupId: r.string(), topics: topicsOf(r) }];
  }
  if (v >= 7) r.bool();
  r.tags();
  return { groups };
}

function encodeTopics(w: Writer, v: number, topics: OffsetFetchGroupResponse['topics']): void {
  w.array(topics, (w, t) => {
    w.string(t.name);
    w.array(t.partitions, (w, p) => {
      w.int32(p.partitionIndex).int64(p.offset);
      if (v >= 5) w.int32(p.leaderEpoch);
      w.nullableString(p.metadata).int16(p.errorCode).tags();
    });
    w.tags();
  });
}

function encode(w: Writer, v: number, res: OffsetFetchResponse): void {
  if (v >= 3) w.int32(0);
  if (v >= 8) {
    w.array(res.groups, (w, g) => {
      w.string(g.groupId);
      encodeTopics(w, v, g.topics);
      w.int16(g.errorCode).tags();
    });
  } else {
    const g = res.groups[0];
    encodeTopics(w, v, g.topics);
    if (v >= 2) w.int16(g.errorCode);
  }
  w.tags();
}

export const offsetFetchApi: ApiDef<OffsetFetchRequest, OffsetFetchResponse> = {
  key: 9,
  name: 'OffsetFetch',
  minVersion: 0,
  maxVersion: 8,
  flexibleFrom: 6,
  decode,
  encode,
};
