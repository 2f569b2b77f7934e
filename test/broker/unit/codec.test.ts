import { describe, expect, it } from 'vitest';
import { ProtocolError, Reader } from '../../../src/broker/protocol/reader.js';
import { Writer } from '../../../src/broker/protocol/writer.js';

function roundTrip(flexible: boolean): void {
  const w = new Writer(flexible, 8);
  w.int8(-5).bool(true).int16(-1234).int32(-123456789).uint32(0xfedcba98).int64(2 ** 53 - 1).int64(-1);
  w.uvarint(0).uvarint(127).uvarint(128).uvarint(2 ** 31).varint(-1).varint(-300).varint(300);
  w.string('héllo').nullableString(null).nullableString('').bytes(Buffer.from([1, 2, 3])).nullableBytes(null);
  w.array(['a', 'bb'], (w, s) => w.string(s)).nullableArray(null, () => {}).int32Array([7, -7]);
  w.uuid(Buffer.alloc(16, 9)).tags();
  const r = new Reader(w.result(), flexible);
  expect([r.int8(), r.bool(), r.int16(), r.int32(), r.uint32(), r.int64(), r.int64()]).toEqual([-5, true, -1234, -123456789, 0xfedcba98, 2 ** 53 - 1, -1]);
  expect([r.uvarint(), r.uvarint(), r.uvarint(), r.uvarint(), r.varint(), r.varint(), r.varint()]).toEqual([0, 127, 128, 2 ** 31, -1, -300, 300]);
  expect([r.string(), r.nullableString(), r.nullableString()]).toEqual(['héllo', null, '']);
  expect([...r.bytes()]).toEqual([1, 2, 3]);
  expect(r.nullableBytes()).toBeNull();
  expect(r.array((r) => r.string())).toEqual(['a', 'bb']);
  expect(r.nullableArray((r) => r.int32())).toBeNull();
  expect(r.array((r) => r.int32())).toEqual([7, -7]);
  expect([...r.uuid()]).toEqual(new Array(16).fill(9));
  r.tags();
  expect(r.remaining).toBe(0);
}

describe('protocol codec', () => {
  it('round-trips every primitive in classic encoding', () => roundTrip(false));
  it('round-trips every primitive in flexible (compact) encoding', () => roundTrip(true));

  it('writes compact lengths as unsigned varint length+1 and classic ones as int16/int32', () => {
    expect([...new Writer(true).string('ab').result()]).toEqual([3, 0x61, 0x62]);
    expect([...new Writer(true).nullableString(null).result()]).toEqual([0]);
    expect([...new Writer(false).string('ab').result()]).toEqual([0, 2, 0x61, 0x62]);
    expect([...new Writer(false).nullableBytes(null).result()]).toEqual([0xff, 0xff, 0xff, 0xff]);
    expect([...new Writer(true).array([1], (w, v) => w.int8(v)).result()]).toEqual([2, 1]);
    expect([...new Writer(true).uvarint(300).result()]).toEqual([0xac, 0x02]);
  });

  it('skips tagged fields it does not know', () => {
    // two tagged fields: tag 0 with 2 bytes, tag 5 with 1 byte; then an int8 sentinel
    const r = new Reader(Buffer.from([2, 0, 2, 0xaa, 0xbb, 5, 1, 0xcc, 42]), true);
    r.tags();
    expect(r.int8()).toBe(42);
  });

  it('reads the request header client_id as a classic string even in flexible versions', () => {
    const w = new Writer(true);
    w.classicString('cli').string('x');
    const r = new Reader(w.result(), true);
    expect(r.classicNullableString()).toBe('cli');
    expect(r.string()).toBe('x');
  });

  it('throws a ProtocolError instead of reading past the end', () => {
    expect(() => new Reader(Buffer.from([0, 5, 0x61])).string()).toThrow(ProtocolError);
    expect(() => new Reader(Buffer.from([0, 0, 0])).int32()).toThrow(ProtocolError);
    expect(() => new Reader(Buffer.from([0x7f, 0xff, 0xff, 0xff])).array((r) => r.int8())).toThrow(ProtocolError);
    expect(() => new Reader(Buffer.from([0xff, 0xff])).uvarint()).toThrow(ProtocolError);
  });
});
