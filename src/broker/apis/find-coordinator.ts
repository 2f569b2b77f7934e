/*
 * FindCoordinator (key 10), v0-4; flexible from v3.
 *   Request v0-3 => key STRING key_type INT8 (v1+) TAG_BUFFER
 *   Request v4   => key_type INT8 [coordinator_keys STRING] TAG_BUFFER
 *   Response v0-3 => throttle_time_ms INT32 (v1+) error_code INT16 error_message NULLABLE_STRING (v1+)
 *                    node_id INT32 host STRING port INT32 TAG_BUFFER
 *   Response v4  => throttle_time_ms INT32 [coordinators => key STRING node_id INT32 host STRING
 *                    port INT32 error_code INT16 error_message NULLABLE_STRING TAG_BUFFER] TAG_BUFFER
 */
import type { Reader } from '../protocol/reader.js';
import type { Writer } from '../protocol/writer.js';
import type { ApiDef } from './types.js';

export interface FindCoordinatorRequest {
  keyType: number;
  keys: string[];
}
export interface Coordinator {
  key: string;
  nodeId: number;
  host: string;
  port: number;
  errorCode: number;
  errorMessage: string | null;
}
export interface FindCoordinatorResponse {
  coordinators: Coordinator[];
}

function decode(r: Reader, v: number): FindCoordinatorRequest {
  if (v >= 4) {
    const keyType = r.int8();
    const keys = r.array((r) => r.string());
    r.tags();
    return { keyType, keys };
  }
  const key = r.string();
  const keyType = v >= 1 ? r.int8() : 0;
  r.tags();
  return { keyType, keys: [key] };
}

function encode(w: Writer, v: number, res: FindCoordinatorResponse): void {
  if (v >= 1) w.int32(0);
  if (v >= 4) {
    w.array(res.coordinators, (w, c) =>
      w.string(c.key).int32(c.nodeId).string(c.host).int32(c.port).int16(c.errorCode).nullableString(c.errorMessage).tags(),
    );
  } else {
    const c = res.coordinators[0];
    w.int16(c.errorCode);
    if (v >= 1) w.nullableString(c.errorMessage);
    w.int32(c.nodeId).string(c.host).int32(c.port);
  }
  w.tags();
}

export const findCoordinatorApi: ApiDef<FindCoordinatorRequest, FindCoordinatorResponse> = {
  key: 10,
  name: 'FindCoordinator',
  minVersion: 0,
  maxVersion: 4,
  flexibleFrom: 3,
  decode,
  encode,
};
