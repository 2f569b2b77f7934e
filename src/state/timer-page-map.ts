/**
 * The in-memory form of one timer page (timer-service.ts): its live timers as key → time, and
 * the shared budget for clean pages kept in memory. Kept apart from the service, which owns the
 * index, firing order and checkpoint protocol.
 */
import { compareTimers, type PagedTimer } from './codec/timer-page.js';
import { insertSorted } from '../core/sorted.js';
import { stringBytes } from './heap-size.js';

/**
 * The clean timer pages a backend may keep in memory, in estimated heap bytes, shared by its
 * services. Dirty pages are not bounded by it (a checkpoint cleans them, as for cache entries).
 */
export class TimerMemory {
  /** Estimated heap bytes of the pages in memory (clean and dirty). */
  held = 0;
  /** Recency clock: a page's `used` is the clock's value at its last access. */
  clock = 0;
  constructor(readonly budget: number) {}
}

/** A page, its Map and index slot; and per timer its Map entry and key string (heap-size.ts sizes). */
export const PAGE_BYTES = 240;
export const timerBytes = (keyId: string): number => 48 + stringBytes(keyId.length);

export interface Page {
  readonly start: number;
  /**
   * Live timers: key → its one timer in this page (encoded: oneTimer), or its times ascending
   * when the key has several in this page (rare; never tagged: a tag promises the operator
   * something about the key's only timer); null for a key whose timer fired while the page
   * fires (FIRED).
   */
  readonly timers: Map<string, number | number[] | null>;
  /** Live timers in this page. */
  count: number;
  /** Estimated heap bytes (counted in TimerMemory.held while the page is in memory). */
  bytes: number;
  /** Firing order from `cursor` on, built when the page is first fired from; entries no longer live are skipped. */
  sorted: PagedTimer[] | null;
  cursor: number;
  /**
   * Timers added while the page fires, a binary min-heap in (time, key) order (pushFiring): they
   * fire merged with `sorted`. An insert into `sorted` moved every later timer, and a window
   * shorter than a page registers into the page it fires from all the time.
   */
  late: PagedTimer[] | null;
  dirty: boolean;
  /** LevelDB holds this page as of the last written batch (or the read that loaded it). */
  onDisk: boolean;
  /** Collected batches not yet committed or aborted that hold this page. */
  flushing: number;
  /** Captured by a checkpoint and not encoded yet: its index in the capture (timer-capture.ts), else -1. Encode it before it changes. */
  captured: number;
  /** Bumped by every change, so a commit can tell whether the page changed after collection. */
  version: number;
  /** TimerMemory.clock at the last access. */
  used: number;
  /**
   * A large page's timers in (time, key) order as of its last checkpoint (some may be gone since),
   * and the timers added after it: the next checkpoint sorts only those and merges (checkpointOrder).
   */
  order?: PagedTimer[] | null;
  added?: PagedTimer[];
}

/** Estimated heap bytes per entry of a page's checkpoint order (an object of two fields and its array slot). */
export const ORDER_BYTES = 48;
/** Pages with fewer timers are sorted afresh at each checkpoint (cheap); larger ones keep their order. */
export const ORDER_MIN_TIMERS = 512;

/**
 * A timer taken from a page that fires leaves its key's slot in the Map, until the page empties
 * (then cleared at once): a draining Map shrinks at every halving, each a runtime call building
 * a new table (4.7× the time of keeping the slot, draining pages of 20 timers in a micro-bench).
 */
const FIRED = null;

/**
 * A key's one timer in a page as its Map value: twice its offset from the page's start, plus 1
 * when registered tagged (TimerService.register). A small integer where the time itself (epoch
 * ms, past 2^31) was a number boxed at every register and read through a pointer at every
 * lookup, and the tag rides in it where it took an entry in a Set beside (a second hash table to
 * add to and delete from). Exact for any time: times and page starts are integers a page's
 * width apart at most (±Infinity: the page's start itself), and the width is an integer.
 */
function oneTimer(page: Page, time: number, tagged: boolean): number {
  return 2 * (time === page.start ? 0 : time - page.start) + (tagged ? 1 : 0);
}

/** The time of a oneTimer value (`v & 1`: its tag). */
function timeOf(page: Page, v: number): number {
  return page.start + (v - (v & 1)) / 2;
}

/** Whether the key's timer in this page is tagged (its only one, registered tagged). */
export function isTagged(page: Page, keyId: string): boolean {
  const v = page.timers.get(keyId);
  return typeof v === 'number' && (v & 1) === 1;
}

export function holds(page: Page, time: number, keyId: string): boolean {
  const v = page.timers.get(keyId);
  if (typeof v === 'number') return timeOf(page, v) === time;
  return v !== undefined && v !== FIRED && v.includes(time);
}

/**
 * Adds (time, keyId) unless present; returns whether it was added. Tagged only when it is the
 * key's one timer in the page: any add for a key the page holds (the same time included) clears
 * the key's tag.
 */
export function addTimer(page: Page, time: number, keyId: string, tagged = false): boolean {
  const timers = page.timers;
  const v = timers.get(keyId);
  if (v === undefined || v === FIRED) timers.set(keyId, oneTimer(page, time, tagged));
  else if (typeof v === 'number') {
    const had = timeOf(page, v);
    if (had === time) {
      if ((v & 1) === 1) timers.set(keyId, v - 1);
      return false;
    }
    timers.set(keyId, had < time ? [had, time] : [time, had]);
  } else if (!insertSorted(v, time)) return false;
  page.count++;
  if (page.order) (page.added ??= []).push({ time, keyId });
  return true;
}

/** Removes (time, keyId) if present; returns whether it was there. */
export function removeTimer(page: Page, time: number, keyId: string): boolean {
  return takeTimer(page, time, keyId) !== ABSENT;
}

/** What takeTimer found: the timer was not there, or it was and is now removed (tagged or not). */
export const ABSENT = 0;
export const TAKEN = 1;
export const TAKEN_TAGGED = 2;
export type Taken = typeof ABSENT | typeof TAKEN | typeof TAKEN_TAGGED;

/**
 * Removes (time, keyId) if present and says whether it was there and tagged: firing asks both
 * of every timer, and this is one lookup.
 */
export function takeTimer(page: Page, time: number, keyId: string): Taken {
  const timers = page.timers;
  const v = timers.get(keyId);
  if (v === undefined || v === FIRED) return ABSENT;
  let taken: Taken = TAKEN;
  if (typeof v === 'number') {
    if (timeOf(page, v) !== time) return ABSENT;
    if (page.sorted !== null) timers.set(keyId, FIRED);
    else timers.delete(keyId);
    if ((v & 1) === 1) taken = TAKEN_TAGGED;
  } else {
    const i = v.indexOf(time);
    if (i < 0) return ABSENT;
    // A key with several timers in the page is never tagged.
    v.splice(i, 1);
    if (v.length === 1) timers.set(keyId, oneTimer(page, v[0]!, false));
  }
  if (--page.count === 0 && timers.size > 0) timers.clear();
  return taken;
}

/** A timer added to a page that is firing: it fires in order among those not fired yet (one earlier than those fired already fires next). */
export function pushFiring(page: Page, t: PagedTimer): void {
  const heap = (page.late ??= []);
  let i = heap.length;
  heap.push(t);
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (compareTimers(heap[parent]!, t) <= 0) break;
    heap[i] = heap[parent]!;
    i = parent;
  }
  heap[i] = t;
}

/** The next timer in a firing page's order (maybe no longer live), or undefined when it has none left. */
export function peekFiring(page: Page): PagedTimer | undefined {
  const next = page.sorted![page.cursor];
  const late = page.late;
  if (late === null || late.length === 0) return next;
  return next === undefined || compareTimers(late[0]!, next) < 0 ? late[0] : next;
}

/** Moves past the timer peekFiring returned. */
export function popFiring(page: Page): void {
  const next = page.sorted![page.cursor];
  const heap = page.late;
  if (heap === null || heap.length === 0 || (next !== undefined && compareTimers(heap[0]!, next) >= 0)) {
    page.cursor++;
    return;
  }
  const last = heap.pop()!;
  const n = heap.length;
  if (n === 0) return;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    const c = l + 1 < n && compareTimers(heap[l + 1]!, heap[l]!) < 0 ? l + 1 : l;
    if (compareTimers(heap[c]!, last) >= 0) break;
    heap[i] = heap[c]!;
    i = c;
  }
  heap[i] = last;
}

/** The page's live timers in (time, key) order. */
export function timersOf(page: Page): PagedTimer[] {
  const out: PagedTimer[] = [];
  for (const [keyId, v] of page.timers) {
    if (typeof v === 'number') out.push({ time: timeOf(page, v), keyId });
    else if (v !== FIRED) for (const time of v) out.push({ time, keyId });
  }
  // Sparse keys leave one timer in most pages: V8's sort allocates a work array even for one element.
  return out.length > 1 ? out.sort(compareTimers) : out;
}

/**
 * The page's live timers in (time, key) order for a checkpoint to write, and the change in the
 * page's estimated bytes. A checkpoint writes every page it changed whole, and a rolling window's
 * page holds one timer per key active in its minute (thousands): sorting them afresh each second
 * stalled the run loop for tens of ms (40 ms for 30,000 keys). A large page keeps the order it
 * wrote and the timers added since: the next checkpoint sorts only those and merges, dropping what
 * is no longer live. O(page) without a comparison sort.
 */
export function checkpointOrder(page: Page): { timers: PagedTimer[]; grew: number; merged: boolean } {
  const before = page.order ? page.order.length * ORDER_BYTES : 0;
  let timers: PagedTimer[];
  let merged = false;
  if (page.count < ORDER_MIN_TIMERS) {
    timers = timersOf(page);
    page.order = null;
  } else if (!page.order) {
    timers = page.order = timersOf(page);
  } else {
    const added = (page.added ?? []).sort(compareTimers);
    const old = page.order;
    const out: PagedTimer[] = [];
    let i = 0;
    let j = 0;
    let last: PagedTimer | undefined;
    const take = (t: PagedTimer): void => {
      // A timer removed and added again is in both lists (or twice in `added`): once.
      if (last !== undefined && compareTimers(last, t) === 0) return;
      if (holds(page, t.time, t.keyId)) out.push((last = t));
    };
    while (i < old.length || j < added.length) {
      if (j >= added.length || (i < old.length && compareTimers(old[i]!, added[j]!) <= 0)) take(old[i++]!);
      else take(added[j++]!);
    }
    // The merge covers every live timer unless the bookkeeping was bypassed: never write less than the map.
    merged = out.length === page.count;
    timers = page.order = merged ? out : timersOf(page);
  }
  page.added = undefined;
  return { timers, grew: (page.order ? page.order.length * ORDER_BYTES : 0) - before, merged };
}
