/*
 * LeaveGroup (key 13), v0-4; flexible from v4.
 *   Request v0-2 => group_id STRING member_id STRING
 *   Request v3+  => group_id STRING [members => member_id STRING group_instance_id NULLABLE_STRING TAG_BUFFER] TAG_BUFFER
 *   Response     => throttle_time_ms INT32 (v1+) error_code INT16
 *                   [members => member_id STRING group_instance_id NULLABLE_STRING error_code INT16 TAG_BUFFER] (v3+)
 *                   TAG_BUFFER
 */
import type { Reader } from '../protocol/reader.js';
import type { Writer } from '../protocol/writer.js';
import type { ApiDef } from './types.js';

export interface LeaveGroupRequest {
  groupId: string;
  members: { memberId: string; groupInstanceId: string | null }[];
}
export interface LeaveGroupResponse {
  errorCode: number;
  members: { memberId: string; groupInstanceId: string | null; errorCode: number }[];
}

function decode(r: Reader, v: number): LeaveGroupRequest {
  const groupId = r.string();
  if (v < 3) return { groupId, members: [{ memberId: r.string(), groupInstanceId: null }] };
  const members = r.array((r) => {
    const m = { memberId: r.string(), groupInstanceId: r.nullableString() };
    r.tags();
    return m;
  });
  r.tags();
  return { groupId, members };
}

function encode(w: Writer, v: number, res: LeaveGroupResponse): void {
  if (v >= 1) w.int32(0);
  w.int16(res.errorCode);
  if (v >= 3) {
    w.array(res.members, (w, m) => w.string(m.memberId).nullableString(m.groupInstanceId).int16(m.errorCode).tags());
  }
  w.tags();
}

export const leaveGroupApi: ApiDef<LeaveGroupRequest, LeaveGroupResponse> = {
  key: 13,
  name: 'LeaveGroup',
  minVersion: 0,
  maxVersion: 4,
  flexibleFrom: 4,
  decode,
  encode,
};
