/**
 * Record keys as one-byte strings (chars 0..255): the form the state cache's maps and the
 * timers keep them in (cache-scope.ts, timer-service.ts). No I/O.
 */

/**
 * The last conversion: one record's key goes through latin1() several times in a row (its head,
 * its slices' node, its timer), and handing back the same string object also spares the Map
 * lookups re-hashing it. Checked byte for byte, since callers may reuse their buffers.
 */
let memoBytes: Uint8Array | undefined;
let memoString = '';

/**
 * String.fromCharCode(b[0], …, b[n-1]) written out, one function per key length: apply() with a
 * typed array takes a generic path that cost twice as much (110–130 against 50–70 ns for keys of
 * 4–16 bytes, with the Map lookup that follows), and every cache miss and new key converts one.
 */
type Spreader = (fromCharCode: typeof String.fromCharCode, b: Uint8Array) => string;
const SPREAD_MAX = 32;
const byLength: Array<Spreader | undefined> = [];

function spreader(n: number): Spreader {
  const args = Array.from({ length: n }, (_, i) => `b[${i}]`).join(', ');
  return (byLength[n] = new Function('fromCharCode', 'b', `return fromCharCode(${args});`) as Spreader);
}

/** The key bytes as a one-byte string (chars 0..255), usable as a Map key and reversible with Buffer.from(s, 'latin1'). */
export function latin1(b: Uint8Array): string {
  if (b === memoBytes && sameChars(b, memoString)) return memoString;
  // Short keys (nearly all) convert faster in JS than through a native Buffer call.
  const n = b.length;
  const s = n <= SPREAD_MAX ? (byLength[n] ?? spreader(n))(String.fromCharCode, b) : n <= 64 ? String.fromCharCode.apply(null, b as unknown as number[]) : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
  memoBytes = b;
  memoString = s;
  return s;
}

/** Tells latin1() that `s` is latin1(b) (a timer about to fire, whose key the operator looks up next). */
export function rememberLatin1(b: Uint8Array, s: string): void {
  memoBytes = b;
  memoString = s;
}

/** The bytes of a latin1() string (a fresh array). */
export function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Whether latin1(b) === s, without building the string. */
export function sameChars(b: Uint8Array, s: string): boolean {
  const n = b.length;
  if (s.length !== n) return false;
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) !== b[i]) return false;
  return true;
}
