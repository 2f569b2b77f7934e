import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ByteReader, ByteWriter } from '../../src/state/codec/bytes.js';
import type { ValueCodec } from '../../src/state/types.js';

export async function tempDir(prefix = 'trib-state-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A small mutable aggregate, the kind of value window heads hold. */
export interface Counter {
  count: number;
  sum: number;
  label: string;
}

export const counterCodec: ValueCodec<Counter> = {
  encode: (c) => new ByteWriter(32).varint(c.count).f64(c.sum).string(c.label).finish(),
  decode: (b) => {
    const r = new ByteReader(b);
    return { count: r.varint(), sum: r.f64(), label: r.string() };
  },
};

export const numberCodec: ValueCodec<number> = {
  encode: (n) => new ByteWriter(10).svarint(n).finish(),
  decode: (b) => new ByteReader(b).svarint(),
};

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** The earliest (time, key) of a reference set of timers that is due at `watermark`. */
export function earliestDue(ref: Map<string, { time: number; key: string }>, watermark: number): { time: number; key: string } | undefined {
  let best: { time: number; key: string } | undefined;
  for (const t of ref.values()) {
    if (t.time > watermark) continue;
    if (!best || t.time < best.time || (t.time === best.time && t.key < best.key)) best = t;
  }
  return best;
}
