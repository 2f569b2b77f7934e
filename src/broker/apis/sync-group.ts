/*
 * SyncGroup (key 14), v0-5; flexible from v4.
 *   Request  => group_id STRING generation_id INT32 member_id STRING
 *               group_instance_id NULLABLE_STRING (v3+) protocol_type NULLABLE_STRING (v5+)
 *               protocol_name NULLABLE_STRING (v5+)
 *               [assignments => member_id STRING assignment BYTES TAG_BUFFER] TAG_BUFFER
 *   Response => throttle_time_ms INT32 (v1+) error_code INT16 protocol_type NULLABLE_STRING (v5+)
 *               protocol_name NULLABLE_STRING (v5+) assignment BYTES TAG_BUFFER
 */
import type { Reader } from '../protocol/reader.js';
import type { Writer } from '../protocol/writer.js';
import type { ApiDef } from './types.js';

export interface SyncGroupRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  assignments: { memberId: string; assignment: Buffer }[];
}
export interface SyncGroupResponse {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

function decode(r: Reader, v: number): SyncGroupRequest {
  const groupId = r.string();
  const generationId = r.int32();
  const memberId = r.string();
  if (v >= 3) r.nullableString();
  if (v >= 5) {
    r.nullableString();
    r.nullableString();
  }
  const assignments = r.array((r) => {
    const a = { memberId: r.string(), assignment: Buffer.from(r.bytes()) };
    r.tags();
    return a;
  });
  r.tags();
  return { groupId, generationId, memberId, assignments };
}

function encode(w: Writer, v: number, res: SyncGroupResponse): void {
  if (v >= 1) w.int32(0);
  w.int16(res.errorCode);
  if (v >= 5) w.nullableString(res.protocolType).nullableString(res.protocolName);
  w.bytes(res.assignment).tags();
}

export const syncGroupApi: ApiDef<SyncGroupRequest, SyncGroupResponse> = {
  key: 14,
  name: 'SyncGroup',
  minVersion: 0,
  maxVersion: 5,
  flexibleFrom: 4,
  decode,
  encode,
};
