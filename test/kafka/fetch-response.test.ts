import { describe, expect, it } from 'vitest';
import { Reader } from '@platformatic/kafka';
import { parseFetchResponse } from '../../src/kafka/platformatic/fetch.js';
import { decodeRecordBatches, encodeRecordBatch } from '../../src/kafka/record-batch.js';
import type { ConsumedMessage } from '../../src/kafka/client.js';

const uvarint = (n: number): Buffer => {
  const out: number[] = [];
  while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n >>>= 7; }
  out.push(n);
  return Buffer.from(out);
};
const int = (bits: 16 | 32, n: number): Buffer => {
  const b = Buffer.alloc(bits / 8);
  if (bits === 16) b.writeInt16BE(n); else b.writeInt32BE(n);
  return b;
};

/** A Fetch v12 response body (after the response header) with one topic and these partitions' records. */
function fetchResponseV12(topic: string, partitions: Buffer[]): Buffer {
  const parts: Buffer[] = [int(32, 0), int(16, 0), int(32, 0), uvarint(2), uvarint(topic.length + 1), Buffer.from(topic), uvarint(partitions.length + 1)];
  partitions.forEach((records, p) => {
    parts.push(int(32, p), int(16, 0), Buffer.alloc(24), uvarint(1), int(32, -1), uvarint(records.length + 1), records, uvarint(0));
  });
  parts.push(uvarint(0), uvarint(0));
  return Buffer.concat(parts);
}

describe('Fetch response parser', () => {
  it('keeps each partition\'s records as views of the pieces the response arrived in, not a copy', () => {
    const value = (p: number, i: number): Buffer => Buffer.from(`{"p":${p},"i":${i},"pad":"${'x'.repeat(200)}"}`);
    const batches = [0, 1].map((p) => {
      const b = encodeRecordBatch(Array.from({ length: 300 }, (_, i) => ({ key: Buffer.from(`k${i}`), value: value(p, i) })), 1_700_000_000_000);
      b.writeBigInt64BE(100n, 0);
      return b;
    });
    const whole = fetchResponseV12('t', batches);
    // Socket reads of 4 KB, as a response of ~140 KB comes off the wire.
    const pieces: Buffer[] = [];
    for (let at = 0; at < whole.length; at += 4_096) pieces.push(Buffer.from(whole.subarray(at, at + 4_096)));
    const chunked = Reader.from(pieces[0]!).buffer;
    for (const p of pieces.slice(1)) chunked.append(p);
    const response = parseFetchResponse(1, 1, 12, new Reader(chunked));
    const owners = new Set(pieces.map((p) => p.buffer));
    for (const part of response.responses[0]!.partitions) {
      expect(part.records!.every((r) => owners.has(r.buffer))).toBe(true);
      const out: ConsumedMessage[] = [];
      expect(decodeRecordBatches(part.records!, 't', part.partitionIndex, 0n, out, () => { throw new Error('codec'); })).toBe(400n);
      expect(out.map((m) => m.value!.toString())).toEqual(Array.from({ length: 300 }, (_, i) => value(part.partitionIndex, i).toString()));
      expect(out[0]!.offset).toBe(100n);
      // Records inside one piece are read where they lie: no copy of the response.
      const inPlace = out.filter((m) => owners.has(m.value!.buffer)).length;
      expect(inPlace).toBeGreaterThan(250);
    }
  });
});
