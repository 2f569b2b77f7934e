import { describe, expect, it } from 'vitest';
import { ByteWriter } from '../../../src/state/codec/bytes.js';

type Op = ['u8' | 'varint' | 'svarint' | 'f64', number] | ['string', string] | ['bytes', Uint8Array];

function write(w: ByteWriter, ops: readonly Op[]): void {
  for (const [kind, v] of ops) {
    if (kind === 'string') w.string(v);
    else if (kind === 'bytes') w.bytes(v);
    else w[kind](v);
  }
}

describe('ByteWriter reuse (one writer per codec)', () => {
  it('a reused writer writes exactly what a fresh one writes', () => {
    const long = 'x'.repeat(70_000);
    const ops: Op[] = [
      ['u8', 0], ['u8', 255], ['varint', 0], ['varint', 127], ['varint', 128], ['varint', 2 ** 31 - 1], ['varint', 2 ** 31],
      ['varint', 2 ** 32 + 5], ['varint', Number.MAX_SAFE_INTEGER], ['svarint', -1], ['svarint', 1_700_000_000_000], ['svarint', -(2 ** 51)],
      ['f64', -0.1], ['f64', 1e300], ['string', ''], ['string', 'sdev-12'], ['string', 'héllo ☃ 𝄞'], ['string', long],
      ['bytes', new Uint8Array([1, 2, 3])],
    ];
    const w = new ByteWriter();
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

});
