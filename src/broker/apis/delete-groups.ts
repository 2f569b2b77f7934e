/*
 * DeleteGroups (key 42), v0-2; flexible from v2.
 *   Request  => [groups_names STRING] TAG_BUFFER
 *   Response => throttle_time_ms INT32 [results => group_id STRING error_code INT16 TAG_BUFFER] TAG_BUFFER
 */
import type { Reader } from '../protocol/reader.js';
import type { Writer } from '../protocol/writer.js';
import type { ApiDef } from './types.js';

export interface DeleteGroupsRequest {
  groups: string[];
}
export interface DeleteGroupsResponse {
  results: { groupId: string; errorCode: number }[];
}

function decode(r: Reader): DeleteGroupsRequest {
  const groups = r.array((r) => r.string());
  r.tags();
  return { groups };
}

function encode(w: Writer, _v: number, res: DeleteGroupsResponse): void {
  w.int32(0);
  w.array(res.results, (w, g) => {
    w.string(g.groupId).int16(g.errorCode);
    w.tags();
  });
  w.tags();
}

export const deleteGroupsApi: ApiDef<DeleteGroupsRequest, DeleteGroupsResponse> = {
  key: 42,
  name: 'DeleteGroups',
  minVersion: 0,
  maxVersion: 2,
  flexibleFrom: 2,
  decode,
  encode,
};
