/*
 * CreateTopics (key 19), v0-7; flexible from v5.
 *   Request  => [topics => name STRING num_partitions INT32 replication_factor INT16
 *                 [assignments => partition_index INT32 [broker_ids INT32] TAG_BUFFER]
 *                 [configs => name STRING value NULLABLE_STRING TAG_BUFFER] TAG_BUFFER]
 *               timeout_ms INT32 validate_only BOOLEAN (v1+) TAG_BUFFER
 *   Response => throttle_time_ms INT32 (v2+)
 *               [topics => name STRING topic_id UUID (v7+) error_code INT16 error_message NULLABLE_STRING (v1+)
 *                 num_partitions INT32 (v5+) replication_factor INT16 (v5+)
 *                 [configs => name STRING value NULLABLE_STRING read_only BOOLEAN config_source INT8
 *                   is_sensitive BOOLEAN TAG_BUFFER] (nullable, v5+) TAG_BUFFER] TAG_BUFFER
 */
import type { Reader } from '../protocol/reader.js';
import type { Writer } from '../protocol/writer.js';
import type { ApiDef } from './types.js';

export interface CreateTopicsRequest {
  topics: { name: string; numPartitions: number; replicationFactor: number; assignments: number; configs: Record<string, string | null> }[];
  validateOnly: boolean;
}
export interface CreatedTopic {
  name: string;
  topicId: Buffer | undefined;
  errorCode: number;
  errorMessage: string | null;
  numPartitions: number;
  configs: { name: string; value: string }[];
}
export interface CreateTopicsResponse {
  topics: CreatedTopic[];
}

function decode(r: Reader, v: number): CreateTopicsRequest {
  const topics = r.array((r) => {
    const name = r.string();
    const numPartitions = r.int32();
    const replicationFactor = r.int16();
    const assignments = r.array((r) => {
      const p = r.int32();
      r.array((r) => r.int32());
      r.tags();
      return p;
    }).length;
    const configs: Record<string, string | null> = {};
    r.array((r) => {
      configs[r.string()] = r.nullableString();
      r.tags();
    });
    r.tags();
    return { name, numPartitions, replicationFactor, assignments, configs };
  });
  r.int32();
  const validateOnly = v >= 1 ? r.bool() : false;
  r.tags();
  return { topics, validateOnly };
}

function encode(w: Writer, v: number, res: CreateTopicsResponse): void {
  if (v >= 2) w.int32(0);
  w.array(res.topics, (w, t) => {
    w.string(t.name);
    if (v >= 7) w.uuid(t.topicId);
    w.int16(t.errorCode);
    if (v >= 1) w.nullableString(t.errorMessage);
    if (v >= 5) {
      w.int32(t.numPartitions).int16(1);
      w.array(t.configs, (w, c) => w.string(c.name).nullableString(c.value).bool(false).int8(5).bool(false).tags());
    }
    w.tags();
  });
  w.tags();
}

export const createTopicsApi: ApiDef<CreateTopicsRequest, CreateTopicsResponse> = {
  key: 19,
  name: 'CreateTopics',
  minVersion: 0,
  maxVersion: 7,
  flexibleFrom: 5,
  decode,
  encode,
};
