/**
 * A Produce v11 response from a former leader (NOT_LEADER_OR_FOLLOWER with KIP-951's
 * CurrentLeader and NodeEndpoints tagged fields), as Kafka sends while leaders move, parses to
 * the protocol error (retriable) instead of "Out of bounds." (platformatic's tagged-field reader).
 */
import { describe, expect, it } from 'vitest';
import { Reader, produceV11 } from '@platformatic/kafka';
import { installTaggedFieldsReader } from '../../src/kafka/platformatic/tagged-fields.js';
import { isRetriable, protocolIds } from '../../src/kafka/platformatic/errors.js';

const uvarint = (n: number): number[] => {
  const out: number[] = [];
  while (n > 0x7f) { out.push((n & 0x7f) | 0x80); n >>>= 7; }
  out.push(n);
  return out;
};
const int = (n: number, bytes: number): number[] => {
  const b = Buffer.alloc(bytes);
  if (bytes === 2) b.writeInt16BE(n); else if (bytes === 4) b.writeInt32BE(n); else b.writeBigInt64BE(BigInt(n));
  return [...b];
};
const compactString = (s: string): number[] => [...uvarint(s.length + 1), ...Buffer.from(s)];
/** A tagged-field section: count, then tag, size, data per field. */
const tagged = (fields: Array<[number, number[]]>): number[] => [...uvarint(fields.length), ...fields.flatMap(([tag, data]) => [...uvarint(tag), ...uvarint(data.length), ...data])];

function produceResponseFromFormerLeader(): Buffer {
  const currentLeader = [...int(2, 4), ...int(7, 4), ...tagged([])]; // leader_id 2, leader_epoch 7
  const partition = [
    ...int(3, 4), ...int(6, 2), ...int(-1, 8), ...int(-1, 8), ...int(0, 8), // index 3, NOT_LEADER_OR_FOLLOWER
    ...uvarint(1), // record_errors: empty
    ...uvarint(0), // error_message: null
    ...tagged([[0, currentLeader]]),
  ];
  const nodeEndpoints = [...uvarint(2), ...int(2, 4), ...compactString('127.0.0.1'), ...int(9093, 4), ...uvarint(0), ...tagged([])];
  return Buffer.from([
    ...uvarint(2), ...compactString('orders'), ...uvarint(2), ...partition, ...tagged([]),
    ...int(25, 4), // throttle_time_ms
    ...tagged([[0, nodeEndpoints]]),
  ]);
}

describe('tagged fields in responses', () => {
  it('a Produce v11 NOT_LEADER_OR_FOLLOWER with CurrentLeader/NodeEndpoints parses to a retriable protocol error', () => {
    installTaggedFieldsReader();
    const reader = Reader.from(produceResponseFromFormerLeader());
    let thrown: unknown;
    try {
      produceV11.parseResponse(1, 0, 11, reader);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeDefined();
    expect(protocolIds(thrown)).toEqual(['NOT_LEADER_OR_FOLLOWER']);
    expect(isRetriable(thrown)).toBe(true);
    const response = (thrown as { response: { throttleTimeMs: number; responses: Array<{ name: string; partitionResponses: Array<{ index: number }> }> } }).response;
    expect(response.throttleTimeMs).toBe(25);
    expect(response.responses[0]!.partitionResponses[0]!.index).toBe(3);
    // The body's trailing tagged fields (NodeEndpoints) are left to the connection; read them here.
    reader.readTaggedFields();
    expect(reader.position, 'the whole response was read').toBe(produceResponseFromFormerLeader().length);
  });
});
