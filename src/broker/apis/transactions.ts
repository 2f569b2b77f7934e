/*
 * Transaction APIs, answered but not advertised: every request gets UNSUPPORTED_VERSION
 * (35) in its own response shape, so a client that sends one anyway fails fast instead
 * of hanging. v0-3 each; flexible from v3.
 *   AddPartitionsToTxn (24) => transactional_id STRING producer_id INT64 producer_epoch INT16
 *                              [topics => name STRING [partitions INT32]]
 *                           <= throttle_time_ms INT32 [results => name STRING [results => partition_index INT32 error_code INT16]]
 *   AddOffsetsToTxn (25)    => transactional_id STRING producer_id INT64 producer_epoch INT16 group_id STRING
 *                           <= throttle_time_ms INT32 error_code INT16
 *   EndTxn (26)             => transactional_id STRING producer_id INT64 producer_epoch INT16 committed BOOLEAN
 *                           <= throttle_time_ms INT32 error_code INT16
 *   TxnOffsetCommit (28)    => transactional_id STRING group_id STRING producer_id INT64 producer_epoch INT16
 *                              generation_id INT32 (v3+) member_id STRING (v3+) group_instance_id NULLABLE_STRING (v3+)
 *                              [topics => name STRING [partitions => partition_index INT32 committed_offset INT64
 *                                committed_leader_epoch INT32 (v2+) committed_metadata NULLABLE_STRING]]
 *                           <= throttle_time_ms INT32 [topics => name STRING [partitions => partition_index INT32 error_code INT16]]
 */
import type { Reader } from '../protocol/reader.js';
import type { Writer } from '../protocol/writer.js';
import type { ApiDef } from './types.js';

export type TopicPartitions = { name: string; partitions: number[] }[];
/** Either the topic/partitions the request named, or nothing for single-error answers. */
export interface TxnRequest {
  topics: TopicPartitions;
}
export interface TxnResponse {
  errorCode: number;
  topics: TopicPartitions;
}

function partitionsAnswer(w: Writer, res: TxnResponse): void {
  w.int32(0);
  w.array(res.topics, (w, t) => {
    w.string(t.name);
    w.array(t.partitions, (w, p) => w.int32(p).int16(res.errorCode).tags());
    w.tags();
  });
  w.tags();
}
function singleAnswer(w: Writer, _v: number, res: TxnResponse): void {
  w.int32(0).int16(res.errorCode).tags();
}

export const addPartitionsToTxnApi: ApiDef<TxnRequest, TxnResponse> = {
  key: 24,
  name: 'AddPartitionsToTxn',
  minVersion: 0,
  maxVersion: 3,
  flexibleFrom: 3,
  advertised: false,
  decode(r: Reader) {
    r.string();
    r.int64();
    r.int16();
    const topics = r.array((r) => {
      const t = { name: r.string(), partitions: r.array((r) => r.int32()) };
      r.tags();
      return t;
    });
    r.tags();
    return { topics };
  },
  encode: (w, _v, res) => partitionsAnswer(w, res),
};

export const addOffsetsToTxnApi: ApiDef<TxnRequest, TxnResponse> = {
  key: 25,
  name: 'AddOffsetsToTxn',
  minVersion: 0,
  maxVersion: 3,
  flexibleFrom: 3,
  advertised: false,
  decode: () => ({ topics: [] }),
  encode: singleAnswer,
};

export const endTxnApi: ApiDef<TxnRequest, TxnResponse> = {
  key: 26,
  name: 'EndTxn',
  minVersion: 0,
  maxVersion: 3,
  flexibleFrom: 3,
  advertised: false,
  decode: () => ({ topics: [] }),
  encode: singleAnswer,
};

export const txnOffsetCommitApi: ApiDef<TxnRequest, TxnResponse> = {
  key: 28,
  name: 'TxnOffsetCommit',
  minVersion: 0,
  maxVersion: 3,
  flexibleFrom: 3,
  advertised: false,
  decode(r: Reader, v: number) {
    r.string();
    r.string();
    r.int64();
    r.int16();
    if (v >= 3) {
      r.int32();
      r.string();
      r.nullableString();
    }
    const topics = r.array((r) => {
      const name = r.string();
      const partitions = r.array((r) => {
        const p = r.int32();
        r.int64();
        if (v >= 2) r.int32();
        r.nullableString();
        r.tags();
        return p;
      });
      r.tags();
      return { name, partitions };
    });
    r.tags();
    return { topics };
  },
  encode: (w, _v, res) => partitionsAnswer(w, res),
};
