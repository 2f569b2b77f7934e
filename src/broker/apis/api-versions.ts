/*
 * ApiVersions (key 18), v0-3.
 *   Request v0-2 => (empty)
 *   Request v3   => client_software_name COMPACT_STRING client_software_version COMPACT_STRING TAG_BUFFER
 *   Response v0  => error_code INT16 [api_keys => api_key INT16 min_version INT16 max_version INT16]
 *   Response v1-2 => v0 + throttle_time_ms INT32
 *   Response v3  => error_code INT16 [api_keys ... TAG_BUFFER] (compact) throttle_time_ms INT32 TAG_BUFFER
 * The response header is always v0 (no tagged fields), even for v3. A request of an
 * unsupported version gets error 35 in the v0 format so the client can retry lower.
 */
import type { Reader } from '../protocol/reader.js';
import type { Writer } from '../protocol/writer.js';
import type { ApiDef } from './types.js';

export interface ApiVersionsRequest {
  clientSoftwareName: string | null;
  clientSoftwareVersion: string | null;
}
export interface ApiVersionRange {
  key: number;
  min: number;
  max: number;
}
export interface ApiVersionsResponse {
  errorCode: number;
  apis: ApiVersionRange[];
}

function decode(r: Reader, v: number): ApiVersionsRequest {
  if (v < 3) return { clientSoftwareName: null, clientSoftwareVersion: null };
  const req = { clientSoftwareName: r.nullableString(), clientSoftwareVersion: r.nullableString() };
  r.tags();
  return req;
}

function encode(w: Writer, v: number, res: ApiVersionsResponse): void {
  w.int16(res.errorCode);
  w.array(res.apis, (w, a) => w.int16(a.key).int16(a.min).int16(a.max).tags());
  if (v >= 1) w.int32(0);
  w.tags();
}

export const apiVersionsApi: ApiDef<ApiVersionsRequest, ApiVersionsResponse> = {
  key: 18,
  name: 'ApiVersions',
  minVersion: 0,
  maxVersion: 3,
  flexibleFrom: 3,
  decode,
  encode,
};
