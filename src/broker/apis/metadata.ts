/*
 * Metadata (key 3), v0-9; flexible from v9.
 *   Request  => [topics => name STRING TAG_BUFFER] (v0: empty = all; v1+: null = all)
 *               allow_auto_topic_creation BOOLEAN (v4+)
 *               include_cluster_authorized_operations BOOLEAN (v8+) include_topic_authorized_operations BOOLEAN (v8+)
 *               TAG_BUFFER
 *   Response => throttle_time_ms INT32 (v3+)
 *               [brokers => node_id INT32 host STRING port INT32 rack NULLABLE_STRING (v1+) TAG_BUFFER]
 *               cluster_id NULLABLE_STRING (v2+) controller_id INT32 (v1+)
 *               [topics => error_code INT16 name STRING is_internal BOOLEAN (v1+)
 *                 [partitions => error_code INT16 partition_index INT32 leader_id INT32
 *                   leader_epoch INT32 (v7+) [replica_nodes INT32] [isr_nodes INT32]
 *                   [offline_replicas INT32] (v5+) TAG_BUFFER]
 *                 topic_authorized_operations INT32 (v8+) TAG_BUFFER]
 *               cluster_authorized_operations INT32 (v8+) TAG_BUFFER
 */
import type { Reader } from '../protocol/reader.js';
import type { Writer } from '../protocol/writer.js';
import type { ApiDef } from './types.js';

export interface MetadataRequest {
  /** null = every topic. */
  topics: string[] | null;
  allowAutoTopicCreation: boolean;
}
export interface MetadataBroker {
  nodeId: number;
  host: string;
  port: number;
}
export interface MetadataTopic {
  errorCode: number;
  name: string;
  partitions: { errorCode: number; partitionIndex: number; leaderId: number }[];
}
export interface MetadataResponse {
  brokers: MetadataBroker[];
  clusterId: string;
  controllerId: number;
  topics: MetadataTopic[];
}

function decode(r: Reader, v: number): MetadataRequest {
  let topics = r.nullableArray((r) => {
    const name = r.string();
    r.tags();
    return name;
  });
  if (v === 0 && topics !== null && topics.length === 0) topics = null;
  const allowAutoTopicCreation = v >= 4 ? r.bool() : true;
  if (v >= 8) {
    r.bool();
    r.bool();
  }
  r.tags();
  return { topics, allowAutoTopicCreation };
}

const UNKNOWN_OPERATIONS = -2147483648;

function encode(w: Writer, v: number, res: MetadataResponse): void {
  if (v >= 3) w.int32(0);
  w.array(res.brokers, (w, b) => {
    w.int32(b.nodeId).string(b.host).int32(b.port);
    if (v >= 1) w.nullableString(null);
    w.tags();
  });
  if (v >= 2) w.nullableString(res.clusterId);
  if (v >= 1) w.int32(res.controllerId);
  w.array(res.topics, (w, t) => {
    w.int16(t.errorCode).string(t.name);
    if (v >= 1) w.bool(false);
    w.array(t.partitions, (w, p) => {
      w.int16(p.errorCode).int32(p.partitionIndex).int32(p.leaderId);
      if (v >= 7) w.int32(0);
      w.int32Array([p.leaderId]).int32Array([p.leaderId]);
      if (v >= 5) w.int32Array([]);
      w.tags();
    });
    if (v >= 8) w.int32(UNKNOWN_OPERATIONS);
    w.tags();
  });
  if (v >= 8) w.int32(UNKNOWN_OPERATIONS);
  w.tags();
}

export const metadataApi: ApiDef<MetadataRequest, MetadataResponse> = {
  key: 3,
  name: 'Metadata',
  minVersion: 0,
  maxVersion: 9,
  flexibleFrom: 9,
  decode,
  encode,
};
