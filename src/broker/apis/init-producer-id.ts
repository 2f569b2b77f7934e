/*
 * InitProducerId (key 22), v0-4; flexible from v2.
 *   Request  => transactional_id NULLABLE_STRING transaction_timeout_ms INT32
 *               producer_id INT64 (v3+) producer_epoch INT16 (v3+) TAG_BUFFER
 *   Response => throttle_time_ms INT32 error_code INT16 producer_id INT64 producer_epoch INT16 TAG_BUFFER
 */
import type { Reader } from '../protocol/reader.js';
import type { Writer } from '../protocol/writer.js';
import type { ApiDef } from './types.js';

export interface InitProducerIdRequest {
  transactionalId: string | null;
  producerId: number;
  producerEpoch: number;
}
export interface InitProducerIdResponse {
  errorCode: number;
  producerId: number;
  producerEpoch: number;
}

function decode(r: Reader, v: number): InitProducerIdRequest {
  const transactionalId = r.nullableString();
  r.int32();
  const producerId = v >= 3 ? r.int64() : -1;
  const producerEpoch = v >= 3 ? r.int16() : -1;
  r.tags();
  return { transactionalId, producerId, producerEpoch };
}

function encode(w: Writer, _v: number, res: InitProducerIdResponse): void {
  w.int32(0).int16(res.errorCode).int64(res.producerId).int16(res.producerEpoch).tags();
}

export const initProducerIdApi: ApiDef<InitProducerIdRequest, InitProducerIdResponse> = {
  key: 22,
  name: 'InitProducerId',
  minVersion: 0,
  maxVersion: 4,
  flexibleFrom: 2,
  decode,
  encode,
};
