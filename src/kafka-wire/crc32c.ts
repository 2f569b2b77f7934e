/**
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78), slicing-by-8: record batch v2
 * checksums, for the dev broker and our clients' codec. Node's zlib.crc32 is the other
 * polynomial, so we carry our own tables. @platformatic/kafka's WebAssembly one is faster on one
 * large buffer in isolation but cost the dev broker twice the CPU per record in
 * bench/kafka-e2e.bench.ts (1.4 -> 2.8 ms per 1k in pass-through), so this one serves both.
 */
import { createRequire } from 'node:module';

const POLY = 0x82f63b78;
const T = new Uint32Array(8 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  T[n] = c >>> 0;
}
for (let n = 0; n < 256; n++) {
  let c = T[n];
  for (let s = 1; s < 8; s++) {
    c = T[c & 0xff] ^ (c >>> 8);
    T[s * 256 + n] = c >>> 0;
  }
}

/**
 * @node-rs/crc32 (SSE4.2 / ARM CRC instructions), an optional dependency of @platformatic/kafka:
 * ~6x faster than the tables from a few KiB on (a produce request's record batch: the sink's
 * output and the changelog, ~1.5% of a worker's main thread in bench/kafka-e2e.bench.ts), but a
 * native call costs about as much as the tables spend on a few hundred bytes, so small inputs
 * (the dev broker's per-request batches, record headers) stay here. Absent, or with
 * TRIBUTARY_JS_CRC32C=1 (to compare, or to rule it out): the tables do it all.
 */
type NativeCrc32c = (input: Uint8Array, initialState?: number) => number;
const NATIVE_FROM = 4096;

function loadNative(): NativeCrc32c | undefined {
  if (process.env.TRIBUTARY_JS_CRC32C === '1') return undefined;
  try {
    const mod = createRequire(import.meta.url)('@node-rs/crc32') as { crc32c?: NativeCrc32c };
    const f = mod.crc32c;
    // Trust it only if it agrees with the tables on the standard check value.
    return typeof f === 'function' && f(Buffer.from('123456789')) === 0xe3069283 ? f : undefined;
  } catch {
    return undefined;
  }
}

const native = loadNative();

/** Whether large inputs go to @node-rs/crc32 (for tests). */
export const crc32cNative = native !== undefined;

export function crc32c(data: Uint8Array, start = 0, end = data.length, seed = 0): number {
  if (native !== undefined && end - start >= NATIVE_FROM) return native(start === 0 && end === data.length ? data : data.subarray(start, end), seed) >>> 0;
  return crc32cTables(data, start, end, seed);
}

/** The table-driven CRC (slicing-by-8). */
export function crc32cTables(data: Uint8Array, start = 0, end = data.length, seed = 0): number {
  let crc = ~seed >>> 0;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const a = crc ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
    crc =
      T[7 * 256 + (a & 0xff)] ^
      T[6 * 256 + ((a >>> 8) & 0xff)] ^
      T[5 * 256 + ((a >>> 16) & 0xff)] ^
      T[4 * 256 + (a >>> 24)] ^
      T[3 * 256 + data[i + 4]] ^
      T[2 * 256 + data[i + 5]] ^
      T[256 + data[i + 6]] ^
      T[data[i + 7]];
  }
  for (; i < end; i++) crc = T[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}
