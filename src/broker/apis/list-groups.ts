/*
 * ListGroups (key 16), v0-4; flexible from v3.
 *   Request  => [states_filter STRING] (v4+) TAG_BUFFER
 *   Response => throttle_time_ms INT32 (v1+) error_code INT16
 *               [groups => group_id STRING protocol_type STRING group_state STRING (v4+) TAG_BUFFER] TAG_BUFFER
 */
import type { Reader } from '../protocol/reader.js';
import type { Writer } from '../protocol/writer.js';
import type { ApiDef } from './types.js';

export interface ListGroupsRequest {
  statesFilter: string[];
}
export interface ListGroupsResponse {
  errorCode: number;
  groups: { groupId: string; protocolType: string; state: string }[];
}

function decode(r: Reader, v: number): ListGroupsRequest {
  const statesFilter = v >= 4 ? r.array((r) => r.string()) : [];
  r.tags();
  return { statesFilter };
}

function encode(w: Writer, v: number, res: ListGroupsResponse): void {
  if (v >= 1) w.int32(0);
  w.int16(res.errorCode);
  w.array(res.groups, (w, g) => {
    w.string(g.groupId).string(g.protocolType);
    if (v >= 4) w.string(g.state);
    w.tags();
  });
  w.tags();
}

export const listGroupsApi: ApiDef<ListGroupsRequest, ListGroupsResponse> = {
  key: 16,
  name: 'ListGroups',
  minVersion: 0,
  maxVersion: 4,
  flexibleFrom: 3,
  decode,
  encode,
};
