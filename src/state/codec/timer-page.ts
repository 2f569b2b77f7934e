/**
 * Timer pages: the timers of one (step, partition) whose times fall in one page of event time
 * are one LevelDB entry, so firing reads them with one synchronous point read (classic-level
 * has getSync, no synchronous range read) and nothing but the pages being fired or written
 * stays in memory.
 *
 *   key    [0x14][step u16][partition u16][page start t64]      (state-key.ts layout)
 *   value  varint n, then n × (f64 LE time, varint key length, key bytes), ascending by
 *          (time, key bytes); then, when some are tagged (TimerService.register), varint m and
 *          m × varint index of a tagged timer, ascending. A reader that predates tags stops
 *          after the timers and sees them all untagged, which is always safe.
 *
 * Page start = ⌊time / width⌋ · width for finite times; ±Infinity are pages of their own.
 */
import { ByteReader, ByteWriter } from './bytes.js';

export interface PagedTimer {
  readonly time: number;
  /** latin1(record key bytes): orders as the bytes do. */
  readonly keyId: string;
}

export function pageOf(time: number, width: number): number {
  return Number.isFinite(time) ? Math.floor(time / width) * width : time;
}

export function compareTimers(a: PagedTimer, b: PagedTimer): number {
  if (a.time !== b.time) return a.time < b.time ? -1 : 1;
  return a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : 0;
}

const writer = new ByteWriter(256);

/** Indexes of the tagged timers of the page being encoded (reused). */
const taggedAt: number[] = [];

/**
 * `timers` ascending (compareTimers); `tagged`: which keys' timer in this page is tagged (one
 * timer each). Without tagged timers the value is as before tags.
 */
export function encodeTimerPage(timers: readonly PagedTimer[], tagged?: { has(keyId: string): boolean } | null): Uint8Array {
  const w = writer.begin();
  w.varint(timers.length);
  taggedAt.length = 0;
  for (let i = 0; i < timers.length; i++) {
    const t = timers[i]!;
    w.f64(t.time).latin1(t.keyId);
    if (tagged && tagged.has(t.keyId)) taggedAt.push(i);
  }
  if (taggedAt.length > 0) {
    w.varint(taggedAt.length);
    for (const i of taggedAt) w.varint(i);
  }
  return w.finish();
}

/** The page's timers; the keys of its tagged ones go into `tagged` when given. */
export function decodeTimerPage(bytes: Uint8Array, tagged?: Set<string>): PagedTimer[] {
  const r = new ByteReader(bytes);
  const n = r.varint();
  const out: PagedTimer[] = [];
  for (let i = 0; i < n; i++) {
    const time = r.f64();
    const key = r.bytes();
    out.push({ time, keyId: latin1Of(key) });
  }
  if (tagged !== undefined && !r.done) {
    const m = r.varint();
    for (let j = 0; j < m; j++) tagged.add(out[r.varint()]!.keyId);
  }
  return out;
}

/**
 * Whether an encoded page starting at `start` is a page of `width`: every timer's page is
 * `start`. A page written with another width is not (its timers move into pages of this width
 * when it loads); read without decoding the keys.
 */
export function timerPageFits(bytes: Uint8Array, start: number, width: number): boolean {
  const r = new ByteReader(bytes);
  const n = r.varint();
  if (n === 0) return true;
  let first = 0;
  let last = 0;
  for (let i = 0; i < n; i++) {
    last = r.f64();
    if (i === 0) first = last;
    r.skipBytes();
  }
  // Ascending: the first and last timers bound the others.
  return pageOf(first, width) === start && pageOf(last, width) === start;
}

/** The timer count of an encoded page, without decoding the timers. */
export function timerPageCount(bytes: Uint8Array): number {
  return new ByteReader(bytes).varint();
}

function latin1Of(b: Uint8Array): string {
  return b.length <= 64 ? String.fromCharCode.apply(null, b as unknown as number[]) : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}
