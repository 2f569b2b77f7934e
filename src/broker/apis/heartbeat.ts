/*
 * Heartbeat (key 12), v0-4; flexible from v4.
 *   Request  => group_id STRING generation_id INT32 member_id STRING
 *               group_instance_id NULLABLE_STRING (v3+) TAG_BUFFER
 *   Response => throttle_time_ms INT32 (v1+) error_code INT16 TAG_BUFFER
 */
import type { Reader } from '../protocol/reader.js';
import type { Writer } from '../protocol/writer.js';
import type { ApiDef } from './types.js';

export interface HeartbeatRequest {
  groupId: string;
  generationId: number;
  memberId: string;
}
export interface HeartbeatResponse {
  errorCode: number;
}

function decode(r: Reader, v: number): HeartbeatRequest {
  const req = { groupId: r.string(), generationId: r.int32(), memberId: r.string() };
  if (v >= 3) r.nullableString();
  r.tags();
  return req;
}

function encode(w: Writer, v: number, res: HeartbeatResponse): void {
  if (v >= 1) w.int32(0);
  w.int16(res.errorCode).tags();
}

export const heartbeatApi: ApiDef<HeartbeatRequest, HeartbeatResponse> = {
  key: 12,
  name: 'Heartbeat',
  minVersion: 0,
  maxVersion: 4,
  flexibleFrom: 4,
  decode,
  encode,
};
