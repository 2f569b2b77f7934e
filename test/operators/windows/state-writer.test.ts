import { describe, expect, it } from 'vitest';
import { StateWriter } from '../../../src/operators/windows/state-writer.js';
import { ByteWriter } from '../../../src/state/codec/bytes.js';

type Op = ['u8' | 'varint' | 'svarint' | 'f64', number] | ['string', string] | ['bytes', Uint8Array];

function write<W extends ByteWriter | StateWriter>(w: W, ops: readonly Op[]): void {
  for (const [kind, v] of ops) {
    if (kind === 'string') w.string(v);
    else if (kind === 'bytes') w.bytes(v);
    else w[kind](v);
  }
}

describe('StateWriter', () => {
  it('writes exactly what ByteWriter writes (ByteReader decodes window state either way)', () => {
    const long = 'x'.repeat(70_000);
    const ops: Op[] = [
      ['u8', 0], ['u8', 255], ['varint', 0], ['varint', 127], ['varint', 128], ['varint', 2 ** 31 - 1], ['varint', 2 ** 31],
      ['varint', 2 ** 32 + 5], ['varint', Number.MAX_SAFE_INTEGER], ['svarint', -1], ['svarint', 1_700_000_000_000], ['svarint', -(2 ** 51)],
      ['f64', -0.1], ['f64', 1e300], ['string', ''], ['string', 'sdev-12'], ['string', 'héllo ☃ 𝄞'], ['string', long],
      ['bytes', new Uint8Array([1, 2, 3])],
    ];
    const w = new StateWriter();
    // Twice through the same writer: the reused (and grown, then dropped) buffer leaves no trace.
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i <= ops.length; i++) {
        const part = ops.slice(i === ops.length ? 0 : i, i === ops.length ? ops.length : i + 1);
        const ref = new ByteWriter();
        write(ref, part);
        write(w.begin(), part);
        expect(Buffer.from(w.finish()).equals(Buffer.from(ref.finish())), JSON.stringify(part[0]?.[0])).toBe(true);
      }
    }
  });

  it('refuses what ByteWriter refuses', () => {
    expect(() => new StateWriter().svarint(2 ** 52)).toThrow(RangeError);
    expect(() => new StateWriter().svarint(1.5)).toThrow(RangeError);
  });
});
