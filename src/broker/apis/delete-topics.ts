/*
 * DeleteTopics (key 20), v0-6; flexible from v4.
 *   Request v0-5 => [topic_names STRING] timeout_ms INT32 TAG_BUFFER
 *   Request v6   => [topics => name NULLABLE_STRING topic_id UUID TAG_BUFFER] timeout_ms INT32 TAG_BUFFER
 *   Response     => throttle_time_ms INT32 (v1+)
 *                   [responses => name STRING (nullable v6+) topic_id UUID (v6+) error_code INT16
 *                     error_message NULLABLE_STRING (v5+) TAG_BUFFER] TAG_BUFFER
 */
import type { Reader } from '../protocol/reader.js';
import type { Writer } from '../protocol/writer.js';
import type { ApiDef } from './types.js';

export interface DeleteTopicsRequest {
  topics: { name: string | null; topicId: Buffer | null }[];
}
export interface DeleteTopicsResponse {
  topics: { name: string | null; topicId: Buffer | undefined; errorCode: number; errorMessage: string | null }[];
}

function decode(r: Reader, v: number): DeleteTopicsRequest {
  let topics: DeleteTopicsRequest['topics'];
  if (v >= 6) {
    topics = r.array((r) => {
      const t = { name: r.nullableString(), topicId: Buffer.from(r.uuid()) };
      r.tags();
      return t;
    });
  } else {
    topics = r.array((r) => ({ name: r.string(), topicId: null }));
  }
  r.int32();
  r.tags();
  return { topics };
}

function encode(w: Writer, v: number, res: DeleteTopicsResponse): void {
  if (v >= 1) w.int32(0);
  w.array(res.topics, (w, t) => {
    if (v >= 6) w.nullableString(t.name).uuid(t.topicId);
    else w.string(t.name ?? '');
    w.int16(t.errorCode);
    if (v >= 5) w.nullableString(t.errorMessage);
    w.tags();
  });
  w.tags();
}

export const deleteTopicsApi: ApiDef<DeleteTopicsRequest, DeleteTopicsResponse> = {
  key: 20,
  name: 'DeleteTopics',
  minVersion: 0,
  maxVersion: 6,
  flexibleFrom: 4,
  decode,
  encode,
};
