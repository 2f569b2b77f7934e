/**
 * CRC32C (Castagnoli), the record batch v2 checksum. @platformatic/kafka's implementation is
 * ~1.5x faster than the slicing-by-8 table we carried (0.8 vs 1.2 ms per 900 KB); this keeps
 * our (data, start, end) form over it. Node's zlib.crc32 is the other polynomial.
 */
import { crc32c as whole } from '@platformatic/kafka';

export function crc32c(data: Uint8Array, start = 0, end = data.length): number {
  return whole(start === 0 && end === data.length ? data : data.subarray(start, end)) >>> 0;
}
