/**
 * Registers and deletes of timers far ahead of the watermark, held back and applied in a batch
 * grouped by page (timer-service.ts). A rolling window re-arms a key at the time its next slice
 * leaves, anywhere in the next three days: each such register went alone into a page (and its
 * Map) not touched since registrations made days before, a few cache misses each, and nearly
 * 80% of the engine bench's rolling registers were of that kind. Applied in page order, the ops
 * on one page follow each other, and only the first finds it cold.
 *
 * Nothing can tell the difference: an op is held only while its time is more than FAR_MS past
 * the watermark, the service applies every held op before the watermark comes within FAR_MS of
 * one, and before anything reads its pages (a checkpoint, nextTime, size); ops keep their order
 * on each page, so a register followed by a delete of the same timer stays a delete.
 */

/** How far past the watermark an op must be to be held back. */
export const FAR_MS = 3_600_000;
/** Most ops held back (then they are applied): bounds the memory they take. */
export const FAR_MAX_OPS = 1 << 16;

/** What a held op does, as the service's own register/delete would. */
export const REGISTER = 0;
export const REGISTER_TAGGED = 1;
export const DELETE = 2;
export type FarOpKind = typeof REGISTER | typeof REGISTER_TAGGED | typeof DELETE;

export class FarTimerOps {
  private times: number[] = [];
  private keyIds: string[] = [];
  private kinds: FarOpKind[] = [];
  /** The earliest time held (Infinity when none). */
  min = Number.POSITIVE_INFINITY;

  /** @param full called when FAR_MAX_OPS are held: it should drain them */
  constructor(private readonly full: () => void) {}

  get length(): number {
    return this.times.length;
  }

  push(kind: FarOpKind, time: number, keyId: string): void {
    this.times.push(time);
    this.keyIds.push(keyId);
    this.kinds.push(kind);
    if (time < this.min) this.min = time;
    if (this.times.length >= FAR_MAX_OPS) this.full();
  }

  /** Forgets every held op. */
  clear(): void {
    this.times = [];
    this.keyIds = [];
    this.kinds = [];
    this.min = Number.POSITIVE_INFINITY;
  }

  /** Hands every held op to `apply`, in page order (ops of one page in the order they came), and forgets them. */
  drain(pageMs: number, apply: (kind: FarOpKind, time: number, keyId: string) => void): void {
    const { times, keyIds, kinds } = this;
    const n = times.length;
    if (n === 0) return;
    this.clear();
    const pages = new Float64Array(n);
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      // Only finite times are held (the service applies ±Infinity at once).
      const p = Math.floor(times[i]! / pageMs);
      pages[i] = p;
      if (p < lo) lo = p;
      if (p > hi) hi = p;
    }
    let order: Uint32Array;
    if (hi - lo <= 4 * n) {
      // Pages span a few days of event time: a counting sort, stable, in O(ops + pages).
      const starts = new Uint32Array(hi - lo + 2);
      for (let i = 0; i < n; i++) starts[pages[i]! - lo + 1]!++;
      for (let j = 1; j < starts.length; j++) starts[j]! += starts[j - 1]!;
      order = new Uint32Array(n);
      for (let i = 0; i < n; i++) order[starts[pages[i]! - lo]!++] = i;
    } else {
      order = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => pages[a]! - pages[b]! || a - b);
    }
    for (let k = 0; k < n; k++) {
      const i = order[k]!;
      apply(kinds[i]!, times[i]!, keyIds[i]!);
    }
  }
}
