/*
 * CreatePartitions (key 37), v0-1.
 *   Request  => [topics => name STRING count INT32 [assignments => [broker_ids INT32]] (nullable)]
 *               timeout_ms INT32 validate_only BOOLEAN
 *   Response => throttle_time_ms INT32 [results => name STRING error_code INT16 error_message NULLABLE_STRING]
 */
import type { Reader } from '../protocol/reader.js';
import type { Writer } from '../protocol/writer.js';
import type { ApiDef } from './types.js';

export interface CreatePartitionsRequest {
  topics: { name: string; count: number }[];
  validateOnly: boolean;
}
export interface CreatePartitionsResponse {
  results: { name: string; errorCode: number; errorMessage: string | null }[];
}

function decode(r: Reader): CreatePartitionsRequest {
  const topics = r.array((r) => {
    const t = { name: r.string(), count: r.int32() };
    r.nullableArray((r) => r.array((r) => r.int32()));
    return t;
  });
  r.int32();
  return { topics, validateOnly: r.bool() };
}

function encode(w: Writer, _v: number, res: CreatePartitionsResponse): void {
  w.int32(0);
  w.array(res.results, (w, t) => w.string(t.name).int16(t.errorCode).nullableString(t.errorMessage));
}

export const createPartitionsApi: ApiDef<CreatePartitionsRequest, CreatePartitionsResponse> = {
  key: 37,
  name: 'CreatePartitions',
  minVersion: 0,
  maxVersion: 1,
  flexibleFrom: Infinity,
  decode,
  encode,
};
