/*
 * DescribeGroups (key 15), v0-5; flexible from v5.
 *   Request  => [groups STRING] include_authorized_operations BOOLEAN (v3+) TAG_BUFFER
 *   Response => throttle_time_ms INT32 (v1+)
 *               [groups => error_code INT16 group_id STRING group_state STRING protocol_type STRING
 *                 protocol_data STRING [members => member_id STRING group_instance_id NULLABLE_STRING (v4+)
 *                   client_id STRING client_host STRING member_metadata BYTES member_assignment BYTES TAG_BUFFER]
 *                 authorized_operations INT32 (v3+) TAG_BUFFER] TAG_BUFFER
 */
import type { Reader } from '../protocol/reader.js';
import type { Writer } from '../protocol/writer.js';
import type { ApiDef } from './types.js';

export interface DescribeGroupsRequest {
  groups: string[];
}
export interface DescribedMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  metadata: Buffer;
  assignment: Buffer;
}
export interface DescribedGroup {
  errorCode: number;
  groupId: string;
  state: string;
  protocolType: string;
  protocolData: string;
  members: DescribedMember[];
}
export interface DescribeGroupsResponse {
  groups: DescribedGroup[];
}

function decode(r: Reader, v: number): DescribeGroupsRequest {
  const groups = r.array((r) => r.string());
  if (v >= 3) r.bool();
  r.tags();
  return { groups };
}

function encode(w: Writer, v: number, res: DescribeGroupsResponse): void {
  if (v >= 1) w.int32(0);
  w.array(res.groups, (w, g) => {
    w.int16(g.errorCode).string(g.groupId).string(g.state).string(g.protocolType).string(g.protocolData);
    w.array(g.members, (w, m) => {
      w.string(m.memberId);
      if (v >= 4) w.nullableString(m.groupInstanceId);
      w.string(m.clientId).string(m.clientHost).bytes(m.metadata).bytes(m.assignment).tags();
    });
    if (v >= 3) w.int32(-2147483648);
    w.tags();
  });
  w.tags();
}

export const describeGroupsApi: ApiDef<DescribeGroupsRequest, DescribeGroupsResponse> = {
  key: 15,
  name: 'DescribeGroups',
  minVersion: 0,
  maxVersion: 5,
  flexibleFrom: 5,
  decode,
  encode,
};
