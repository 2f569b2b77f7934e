import { describe, expect, it } from 'vitest';
import { Reader, readRecordsBatch } from '@platformatic/kafka';
import { decodeRecordBatches, encodeRecordBatch, type Inflate } from '../../src/kafka/record-batch.js';
import { encodeProduceRequest } from '../../src/kafka/platformatic/produce.js';
import type { ConsumedMessage, KafkaHeaders, ProduceMessage } from '../../src/kafka/client.js';
import { batchCrcValid, buildBatch, readRecords } from '../../src/broker/protocol/record-batch.js';
import { makeRng, withSeed, type Rng } from '../state/random.js';

const NOW = 1_700_000_000_123;

function bytes(rng: Rng, max: number): Buffer {
  const out = Buffer.alloc(rng.int(0, max));
  for (let i = 0; i < out.length; i++) out[i] = rng.int(0, 255);
  return out;
}

function randomMessages(rng: Rng, n: number): ProduceMessage[] {
  const shared: KafkaHeaders = { 'trib-gen': Buffer.from('7'), 'trib-pos': Buffer.from('{"p":[1,2]}'), 'ünï': Buffer.alloc(0) };
  return Array.from({ length: n }, () => {
    const m: ProduceMessage = {
      key: rng.next() < 0.1 ? null : bytes(rng, 40),
      // Values past 127 and 16383 bytes take 2- and 3-byte length varints.
      value: rng.next() < 0.1 ? null : bytes(rng, rng.next() < 0.05 ? 20_000 : 300),
    };
    const h = rng.next();
    if (h < 0.4) m.headers = shared;
    else if (h < 0.5) m.headers = { [`h${rng.int(0, 9)}`]: bytes(rng, 200) };
    else if (h < 0.55) m.headers = {};
    const t = rng.next();
    // Deltas of either sign, past 2^31 ms, and a fraction the wire cannot carry.
    if (t < 0.6) m.timestamp = NOW + rng.int(-5_000_000_000, 5_000_000_000);
    else if (t < 0.7) m.timestamp = NOW + 0.75;
    return m;
  });
}

/** Bytes as hex (deep equality of large Buffers is slow in expect). */
const hex = (b: Uint8Array | null | undefined): string | null => (b === null || b === undefined ? null : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex'));

/** What a consumer must read back for a message. */
function expected(m: ProduceMessage): { key: string | null; value: string | null; headers: Array<[string, string | null]>; timestamp: number } {
  return {
    key: hex(m.key),
    value: hex(m.value),
    headers: Object.entries(m.headers ?? {}).map(([k, v]) => [k, hex(v)]),
    timestamp: Math.trunc(m.timestamp ?? NOW),
  };
}

describe('record batch v2 encoder', () => {
  for (const compression of ['none', 'gzip'] as const) {
    it(`round-trips through platformatic's and the dev broker's decoders (${compression}, randomized)`, () => {
      const rng = makeRng();
      withSeed(rng, () => {
        for (let round = 0; round < 20; round++) {
          const messages = randomMessages(rng, rng.int(1, 300));
          const buf = encodeRecordBatch(messages, NOW, compression);
          expect(batchCrcValid(buf, 0, buf.length)).toBe(true);

          const batch = readRecordsBatch(Reader.from(buf));
          expect(batch.magic).toBe(2);
          expect(batch.length).toBe(buf.length - 12);
          expect(batch.attributes & 0x07).toBe(compression === 'gzip' ? 1 : 0);
          expect(batch.lastOffsetDelta).toBe(messages.length - 1);
          expect(batch.producerId).toBe(-1n);
          const want = messages.map(expected);
          expect(batch.maxTimestamp).toBe(BigInt(Math.max(...want.map((w) => w.timestamp))));
          const got = batch.records.map((r) => ({
            key: hex(r.key),
            value: hex(r.value),
            headers: r.headers.map(([k, v]) => [k!.toString('utf8'), hex(v)] as [string, string | null]),
            timestamp: Number(batch.firstTimestamp + r.timestampDelta),
          }));
          expect(got).toEqual(want);
          expect(batch.records.map((r) => r.offsetDelta)).toEqual(messages.map((_, i) => i));

          // The dev broker reads what real brokers read (32-bit deltas only: skip the far timestamps).
          if (want.every((w) => Math.abs(w.timestamp - want[0]!.timestamp) < 2 ** 30)) {
            const records = readRecords(buf)!;
            expect(records.map((r) => [hex(r.key), hex(r.value), r.headers.map((h) => [h.key, hex(h.value)])])).toEqual(want.map((w) => [w.key, w.value, w.headers]));
          }
        }
      });
    });
  }

  it('gives records without a timestamp the send time and keeps tombstones and null keys null', () => {
    const buf = encodeRecordBatch([{ key: null, value: Buffer.from('a') }, { key: Buffer.from('k'), value: null }], NOW);
    const batch = readRecordsBatch(Reader.from(buf));
    expect(batch.firstTimestamp).toBe(BigInt(NOW));
    expect(batch.records.map((r) => [r.key, r.value, r.timestampDelta])).toEqual([[null, Buffer.from('a'), 0n], [Buffer.from('k'), null, 0n]]);
  });

  it('gives records without headers of their own the call\'s default headers', () => {
    const tag: KafkaHeaders = { 'trib-gen': Buffer.from('4'), 'trib-pos': Buffer.from('{"s":12}') };
    const own: KafkaHeaders = { x: Buffer.from('y') };
    const messages: ProduceMessage[] = [
      { key: Buffer.from('a'), value: Buffer.from('1') },
      { key: Buffer.from('b'), value: null, headers: own },
      { key: Buffer.from('c'), value: Buffer.from('3'), headers: {} },
      { key: Buffer.from('d'), value: Buffer.from('4') },
    ];
    const out: ConsumedMessage[] = [];
    decodeRecordBatches(encodeRecordBatch(messages, NOW, 'none', tag), 't', 0, 0n, out, noInflate);
    const headers = out.map((m) => Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k, v.toString()])));
    expect(headers).toEqual([{ 'trib-gen': '4', 'trib-pos': '{"s":12}' }, { x: 'y' }, {}, { 'trib-gen': '4', 'trib-pos': '{"s":12}' }]);
  });

  it('refuses an empty batch', () => {
    expect(() => encodeRecordBatch([], NOW)).toThrow(/at least one record/);
  });
});

/** A batch as the broker stores it: base offset assigned (baseOffset is outside the CRC). */
function atOffset(batch: Buffer, baseOffset: number): Buffer {
  const copy = Buffer.from(batch);
  copy.writeBigInt64BE(BigInt(baseOffset), 0);
  return copy;
}

const HEADER_SIZE = 61;

const noInflate: Inflate = (codec) => {
  throw new Error(`codec ${codec}`);
};

describe('record batch v2 decoder', () => {
  for (const compression of ['none', 'gzip'] as const) {
    it(`reads back what the encoder wrote, from a given offset on (${compression}, randomized)`, () => {
      const rng = makeRng();
      withSeed(rng, () => {
        for (let round = 0; round < 10; round++) {
          const sent: Array<{ offset: number; m: ProduceMessage }> = [];
          const parts: Buffer[] = [];
          let offset = rng.int(0, 1000);
          for (let b = rng.int(1, 4); b > 0; b--) {
            const messages = randomMessages(rng, rng.int(1, 50));
            parts.push(atOffset(encodeRecordBatch(messages, NOW, compression), offset));
            for (const m of messages) sent.push({ offset: offset++, m });
          }
          const from = sent[rng.int(0, sent.length - 1)]!.offset;
          const out: ConsumedMessage[] = [];
          const next = decodeRecordBatches(Buffer.concat(parts), 't', 3, BigInt(from), out, noInflate);
          expect(next).toBe(BigInt(offset));
          const want = sent.filter((s) => s.offset >= from);
          expect(out.map((c) => ({ ...expected({ key: c.key, value: c.value, headers: c.headers, timestamp: c.timestamp }), offset: Number(c.offset), tp: `${c.topic}/${c.partition}` })))
            .toEqual(want.map((s) => ({ ...expected(s.m), offset: s.offset, tp: 't/3' })));
        }
      });
    });
  }

  it('reads the same records out of the pieces a response arrived in, however it was cut (randomized)', () => {
    const rng = makeRng();
    withSeed(rng, () => {
      for (let round = 0; round < 30; round++) {
        const parts: Buffer[] = [];
        let offset = rng.int(0, 1000);
        for (let b = rng.int(1, 4); b > 0; b--) {
          const messages = randomMessages(rng, rng.int(1, 40));
          parts.push(atOffset(encodeRecordBatch(messages, NOW, rng.next() < 0.2 ? 'gzip' : 'none'), offset));
          offset += messages.length;
        }
        let whole = Buffer.concat(parts);
        // Sometimes the byte limit cut the last batch off.
        if (rng.next() < 0.3) whole = whole.subarray(0, whole.length - rng.int(1, 80));
        // Pieces of 1 byte up to whole batches: headers, varints, records and values straddle them.
        const pieces: Buffer[] = [];
        const small = rng.next() < 0.3;
        for (let at = 0; at < whole.length;) {
          const n = Math.min(whole.length - at, small ? rng.int(1, 8) : rng.int(1, 4_000));
          pieces.push(Buffer.from(whole.subarray(at, at + n)));
          at += n;
        }
        const from = BigInt(rng.int(0, offset));
        const want: ConsumedMessage[] = [];
        const got: ConsumedMessage[] = [];
        const wantNext = decodeRecordBatches(whole, 't', 1, from, want, noInflate);
        expect(decodeRecordBatches(pieces, 't', 1, from, got, noInflate)).toBe(wantNext);
        const view = (m: ConsumedMessage): unknown => ({ ...expected({ key: m.key, value: m.value, headers: m.headers, timestamp: m.timestamp }), offset: m.offset });
        expect(got.map(view)).toEqual(want.map(view));
      }
    });
  });

  it('refuses a record longer than its batch, in one buffer or in pieces', () => {
    const batch = encodeRecordBatch([{ key: null, value: Buffer.from('abc') }], NOW);
    batch[HEADER_SIZE] = 0x7e; // record length varint: 63, past the batch's end
    expect(() => decodeRecordBatches(batch, 't', 0, 0n, [], noInflate)).toThrow(/overruns/);
    expect(() => decodeRecordBatches([batch.subarray(0, 70), batch.subarray(70)], 't', 0, 0n, [], noInflate)).toThrow(/overruns/);
  });

  it('leaves a batch cut off by the byte limit for the next fetch', () => {
    const a = atOffset(encodeRecordBatch([{ key: null, value: Buffer.from('a') }], NOW), 10);
    const b = atOffset(encodeRecordBatch([{ key: null, value: Buffer.from('b') }, { key: null, value: Buffer.from('c') }], NOW), 11);
    const out: ConsumedMessage[] = [];
    expect(decodeRecordBatches(Buffer.concat([a, b.subarray(0, b.length - 3)]), 't', 0, 10n, out, noInflate)).toBe(11n);
    expect(out.map((m) => m.value!.toString())).toEqual(['a']);
    expect(decodeRecordBatches(b.subarray(0, 40), 't', 0, 11n, [], noInflate)).toBe(11n);
  });

  it('skips control batches but moves past their offsets, and reads log-append time', () => {
    const record = { attributes: 0, offset: 5, timestamp: NOW, key: null, value: Buffer.from('x'), headers: [] };
    const control = buildBatch([record], { baseOffset: 5, attributes: 0x20 });
    const appended = atOffset(encodeRecordBatch([{ key: null, value: Buffer.from('y'), timestamp: NOW }], NOW), 6);
    appended.writeInt16BE(0x08, 21); // log-append time: the broker's maxTimestamp counts
    appended.writeBigInt64BE(BigInt(NOW + 99), 35);
    const out: ConsumedMessage[] = [];
    expect(decodeRecordBatches(Buffer.concat([control, appended]), 't', 0, 5n, out, noInflate)).toBe(7n);
    expect(out.map((m) => [Number(m.offset), m.value!.toString(), m.timestamp])).toEqual([[6, 'y', NOW + 99]]);
  });
});

describe('Produce request body', () => {
  const batches = [
    { partition: 3, records: encodeRecordBatch([{ key: Buffer.from('a'), value: Buffer.from('1') }], NOW) },
    { partition: 0, records: encodeRecordBatch([{ key: null, value: Buffer.from('22') }, { key: null, value: null }], NOW) },
  ];

  for (const version of [7, 8, 9, 10, 11]) {
    it(`follows the v${version} grammar`, () => {
      const flexible = version >= 9;
      const r = Reader.from(encodeProduceRequest(version, -1, 5_000, 'tópic', batches).buffer);
      expect(r.readNullableString(flexible)).toBe(null);
      expect(r.readInt16()).toBe(-1);
      expect(r.readInt32()).toBe(5_000);
      const topics = r.readArray((t) => ({
        name: t.readString(flexible),
        partitions: t.readArray((p) => ({ index: p.readInt32(), records: p.readBytes(flexible) }), flexible, flexible),
      }), flexible, flexible);
      if (flexible) r.readTaggedFields();
      expect(r.remaining).toBe(0);
      expect(topics).toEqual([{ name: 'tópic', partitions: batches.map((b) => ({ index: b.partition, records: b.records })) }]);
    });
  }
});
