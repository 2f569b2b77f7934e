/**
 * Produce v11 responses as real Kafka writes them when a leader moved: the failed partition's
 * response carries the tagged field current_leader (KIP-951). Parsed with tagged fields skipped
 * by their own sizes, the partitions after it read correctly and the error says "stale metadata"
 * (platformatic 1.35's parser misread such a response: "Out of bounds" on a just-created topic).
 */
import { describe, expect, it } from 'vitest';
import { GenericError, Reader, Writer } from '@platformatic/kafka';
import { parseFlexibleProduceResponse, partialResponse } from '../../src/kafka/platformatic/produce.js';
import { protocolIds } from '../../src/kafka/platformatic/errors.js';

const NOT_LEADER_OR_FOLLOWER = 6;

/** One partition response; `currentLeader` adds tag 0 (leader_id INT32, leader_epoch INT32, TAG_BUFFER). */
function partition(w: Writer, index: number, errorCode: number, baseOffset: bigint, currentLeader?: { id: number; epoch: number }): void {
  w.appendInt32(index).appendInt16(errorCode).appendInt64(baseOffset).appendInt64(-1n).appendInt64(0n);
  w.appendUnsignedVarInt(1); // record_errors: empty compact array
  w.appendString(null, true); // error_message
  if (!currentLeader) {
    w.appendUnsignedVarInt(0);
    return;
  }
  const field = Writer.create().appendInt32(currentLeader.id).appendInt32(currentLeader.epoch).appendUnsignedVarInt(0).buffer;
  w.appendUnsignedVarInt(1).appendUnsignedVarInt(0).appendUnsignedVarInt(field.length).append(field);
}

function response(partitions: (w: Writer) => void, count: number): Reader {
  const w = Writer.create();
  w.appendUnsignedVarInt(2).appendString('t', true).appendUnsignedVarInt(count + 1);
  partitions(w);
  w.appendUnsignedVarInt(0); // topic TAG_BUFFER
  w.appendInt32(0).appendUnsignedVarInt(0); // throttle_time_ms, TAG_BUFFER
  return Reader.from(w.buffer);
}

/** What parsing `r` throws (a partly failed response throws, carrying what it read). */
function parseError(r: Reader): unknown {
  try {
    parseFlexibleProduceResponse(1, 0, 11, r);
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('Produce v9-v11 response parsing', () => {
  it('reads every partition of a successful response', () => {
    const r = response((w) => {
      partition(w, 0, 0, 10n);
      partition(w, 1, 0, 20n);
    }, 2);
    const parsed = parseFlexibleProduceResponse(1, 0, 11, r);
    expect(parsed.responses[0]!.partitionResponses.map((p) => [p.index, p.baseOffset])).toEqual([[0, 10n], [1, 20n]]);
  });

  it('skips the current_leader tag of a NOT_LEADER_OR_FOLLOWER partition and reports it as stale metadata', () => {
    const r = response((w) => {
      partition(w, 0, NOT_LEADER_OR_FOLLOWER, -1n, { id: 2, epoch: 7 });
      partition(w, 1, 0, 20n);
      partition(w, 2, 0, 30n);
    }, 3);
    const thrown = parseError(r);
    expect(protocolIds(thrown)).toEqual(['NOT_LEADER_OR_FOLLOWER']);
    expect((thrown as GenericError).findBy('hasStaleMetadata', true)).not.toBeNull();
    const parsed = (thrown as { response: { responses: Array<{ partitionResponses: Array<{ index: number; baseOffset: bigint }> }> } }).response;
    expect(parsed.responses[0]!.partitionResponses.map((p) => [p.index, p.baseOffset])).toEqual([[0, -1n], [1, 20n], [2, 30n]]);
  });

  it('a partly failed response tells which partitions were written (never sent again) and which to resend', () => {
    const r = response((w) => {
      partition(w, 0, NOT_LEADER_OR_FOLLOWER, -1n, { id: 2, epoch: 7 });
      partition(w, 1, 0, 20n);
      partition(w, 2, 0, 30n);
    }, 3);
    const thrown = parseError(r);
    const partial = partialResponse(thrown);
    expect([...partial!.failed]).toEqual([0]);
    expect(partial!.ok.responses[0]!.partitionResponses.map((p) => [p.index, p.baseOffset])).toEqual([[1, 20n], [2, 30n]]);
    expect(partialResponse(new Error('connection closed')), 'no response: nothing is known').toBeUndefined();
  });
});
