/*
 * JoinGroup (key 11), v0-7; flexible from v6.
 *   Request  => group_id STRING session_timeout_ms INT32 rebalance_timeout_ms INT32 (v1+)
 *               member_id STRING group_instance_id NULLABLE_STRING (v5+) protocol_type STRING
 *               [protocols => name STRING metadata BYTES TAG_BUFFER] TAG_BUFFER
 *   Response => throttle_time_ms INT32 (v2+) error_code INT16 generation_id INT32
 *               protocol_type NULLABLE_STRING (v7+) protocol_name STRING (nullable v7+)
 *               leader STRING member_id STRING
 *               [members => member_id STRING group_instance_id NULLABLE_STRING (v5+) metadata BYTES TAG_BUFFER]
 *               TAG_BUFFER
 */
import type { Reader } from '../protocol/reader.js';
import type { Writer } from '../protocol/writer.js';
import type { ApiDef } from './types.js';

export interface GroupProtocol {
  name: string;
  metadata: Buffer;
}
export interface JoinGroupRequest {
  groupId: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string;
  protocols: GroupProtocol[];
}
export interface JoinGroupResponse {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  memberId: string;
  members: { memberId: string; groupInstanceId: string | null; metadata: Buffer }[];
}

function decode(r: Reader, v: number): JoinGroupRequest {
  const groupId = r.string();
  const sessionTimeoutMs = r.int32();
  const rebalanceTimeoutMs = v >= 1 ? r.int32() : sessionTimeoutMs;
  const memberId = r.string();
  const groupInstanceId = v >= 5 ? r.nullableString() : null;
  const protocolType = r.string();
  const protocols = r.array((r) => {
    const p = { name: r.string(), metadata: Buffer.from(r.bytes()) };
    r.tags();
    return p;
  });
  r.tags();
  return { groupId, sessionTimeoutMs, rebalanceTimeoutMs, memberId, groupInstanceId, protocolType, protocols };
}

function encode(w: Writer, v: number, res: JoinGroupResponse): void {
  if (v >= 2) w.int32(0);
  w.int16(res.errorCode).int32(res.generationId);
  if (v >= 7) w.nullableString(res.protocolType);
  // Before v7 the protocol name is not nullable: an error answer carries ''.
  if (v >= 7) w.nullableString(res.protocolName);
  else w.string(res.protocolName ?? '');
  w.string(res.leader).string(res.memberId);
  w.array(res.members, (w, m) => {
    w.string(m.memberId);
    if (v >= 5) w.nullableString(m.groupInstanceId);
    w.bytes(m.metadata).tags();
  });
  w.tags();
}

export const joinGroupApi: ApiDef<JoinGroupRequest, JoinGroupResponse> = {
  key: 11,
  name: 'JoinGroup',
  minVersion: 0,
  maxVersion: 7,
  flexibleFrom: 6,
  decode,
  encode,
};
