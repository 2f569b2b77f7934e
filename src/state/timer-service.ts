/**
 * Persistent event-time timers for one (step, partition), kept in LevelDB as pages: all timers
 * whose time falls in one page of event time (codec/timer-page.ts) are one entry. Memory holds
 * an index of the non-empty pages (one number per page: bounded by the event-time span the
 * timers cover, not by the number of keys), the pages changed since the last written
 * checkpoint, and clean pages up to a budget in bytes shared by every service of a backend
 * (TimerMemory: least recently used pages go first, never the one being fired). A page not in
 * memory is read with one synchronous point read (getSync) when a timer of it is registered,
 * deleted or due: timers fire inside synchronous operator calls, and classic-level has no
 * synchronous range read. A page holds its timers as key → time, so a register, delete or fire
 * is one Map operation on the key string the cache already built (latin1 is memoized).
 * Registers and deletes more than an hour past the watermark are held back and applied page by
 * page (timer-far-ops.ts).
 *
 * A page is dirty while its LevelDB entry lags it: a checkpoint writes it (or deletes it when it
 * emptied). Timers fire in (time, key bytes) order: pages in start order, a page's timers sorted
 * once when it starts firing (those registered into it meanwhile merged from a heap).
 */
import type { TimerService } from './types.js';
import type { BytesStore } from './level-bytes-store.js';
import { latin1, latin1Bytes, rememberLatin1, type FlushBatch } from './write-back-cache.js';
import { assertScope, assertTime, timerPageKey } from './codec/state-key.js';
import { decodeTimerPage, encodeTimerPage, pageOf } from './codec/timer-page.js';
import { TributaryError } from '../core/errors.js';
import { PageIndex } from './timer-page-index.js';
import { TimerCapture } from './timer-capture.js';
import { DELETE, FAR_MS, FarTimerOps, REGISTER, REGISTER_TAGGED, type FarOpKind } from './timer-far-ops.js';
import { ABSENT, PAGE_BYTES, TAKEN_TAGGED, TimerMemory, addTimer, checkpointOrder, holds, isTagged, peekFiring, popFiring, pushFiring, takeTimer, timerBytes, timersOf, type Page } from './timer-page-map.js';

export { TimerMemory } from './timer-page-map.js';

/** A timer to move into a page at load: time, record key, the LevelDB entry it came from, tagged. */
export type LegacyTimer = readonly [time: number, key: Uint8Array, stored: Uint8Array, tagged?: boolean];

export interface DueTimer {
  time: number;
  key: Uint8Array;
  /** Registered tagged (TimerService.register). */
  tagged: boolean;
}

/** The handle the runtime drives: operators see only register/delete. */
export interface PersistentTimerService extends TimerService {
  /** Removes and returns the earliest timer with time <= watermark, or undefined. */
  nextDue(watermark: number): DueTimer | undefined;
  /** Time of the earliest live timer, or undefined when there is none. */
  nextTime(): number | undefined;
  readonly size: number;
}

/** Event time one timer page covers, unless the backend is told otherwise. */
export const DEFAULT_TIMER_PAGE_MS = 60_000;

export class PersistentTimers implements PersistentTimerService {
  /** Starts of the pages holding live timers. */
  private index = new PageIndex();
  /**
   * Pages in memory by start / pageMs: a small integer, stored in the Map's table itself, where
   * the start (epoch ms, past 2^31) would be a boxed number read at every probe. A rolling window
   * registers into pages up to its size ahead (4,320 for 3 days of 1-minute pages), mostly cold.
   */
  private readonly pages = new Map<number, Page>();
  private readonly dirty = new Set<Page>();
  /** Entries of the layout before pages (one per timer), deleted by the next checkpoint. */
  private legacy: Uint8Array[] = [];
  private live = 0;
  private loaded = false;
  /** The collected batch's capture (timer-capture.ts), until it is committed or aborted. */
  private capture: TimerCapture | undefined;
  /** Registers and deletes far past the watermark, not applied yet (timer-far-ops.ts). */
  private readonly far = new FarTimerOps(() => this.applyHeld());
  /** The watermark nextDue was last asked with (NaN before: nothing is held back until then). */
  private seen = Number.NaN;
  /**
   * No live timer is earlier than this (a lower bound; after a nextDue that found nothing due, the
   * next time in the firing order, maybe no longer live): a watermark below it fires nothing, told
   * without touching the pages. Asked after every record, far more often than anything is due.
   */
  private earliest = -Infinity;

  /**
   * @param name for messages, e.g. "timers of step 'x' partition 3"
   * @param bottom where pages live; without one every page stays in memory
   * @param memory the budget for clean pages in memory (default: none kept beyond the firing page)
   */
  constructor(
    readonly step: number,
    readonly partition: number,
    private readonly name = `timers of step ${step} partition ${partition}`,
    private readonly bottom?: BytesStore,
    private readonly pageMs = DEFAULT_TIMER_PAGE_MS,
    private readonly memory = new TimerMemory(0),
  ) {
    assertScope(step, partition);
    // Pages keep a timer as its offset from their start, exact for an integer width (timer-page-map.ts).
    if (!Number.isSafeInteger(pageMs) || pageMs <= 0) throw new TributaryError('TRIB_INTERNAL', `${name}: timer page width ${pageMs} is not a positive integer of ms`);
  }

  /** Map key of this service's scope. */
  get scope(): string {
    return `${this.step}/${this.partition}`;
  }

  /**
   * Enables the service with what LevelDB holds: its pages (start and timer count) and timers
   * that move into pages at the next checkpoint (their LevelDB entry then goes): those of the
   * older one-entry-per-timer layout, and those of pages written with another width.
   */
  load(pages: Iterable<readonly [number, number]> = [], legacy: Iterable<LegacyTimer> = []): void {
    for (const [start, count] of pages) {
      if (count === 0) continue;
      this.index.insert(start);
      this.live += count;
    }
    this.loaded = true;
    this.earliest = -Infinity;
    let last: Uint8Array | undefined;
    for (const [time, key, stored, tagged] of legacy) {
      this.register(time, key, tagged);
      if (stored !== last) this.legacy.push((last = stored));
    }
  }

  /**
   * Forgets every timer, pending changes included, and requires load() again: the next load
   * reads LevelDB afresh (a task closed, or about to be restored). Not while a collected batch
   * is in flight.
   */
  unload(): void {
    for (const page of this.pages.values()) this.memory.held -= page.bytes;
    this.index = new PageIndex();
    this.pages.clear();
    this.dirty.clear();
    this.legacy = [];
    this.live = 0;
    this.loaded = false;
    this.earliest = -Infinity;
    this.far.clear();
    this.seen = Number.NaN;
  }

  get isLoaded(): boolean {
    return this.loaded;
  }

  register(time: number, key: Uint8Array, tagged = false): void {
    this.assertLoaded();
    assertTime(time);
    if (time < this.earliest) this.earliest = time;
    const keyId = latin1(key);
    if (this.isFar(time)) this.far.push(tagged ? REGISTER_TAGGED : REGISTER, time, keyId);
    else this.registerNow(time, keyId, tagged);
  }

  delete(time: number, key: Uint8Array): void {
    this.assertLoaded();
    const keyId = latin1(key);
    if (this.isFar(time)) this.far.push(DELETE, time, keyId);
    else this.deleteNow(time, keyId);
  }

  private registerNow(time: number, keyId: string, tagged: boolean): void {
    const page = this.page(pageOf(time, this.pageMs), true)!;
    if (!addTimer(page, time, keyId, tagged)) {
      // Already there, and untagged now: written at the next checkpoint in case it lost a tag
      // (registers of a timer already there are rare: window steps re-arm only when it moves).
      this.touch(page);
      return;
    }
    this.live++;
    this.grow(page, timerBytes(keyId));
    if (page.count === 1) this.index.insert(page.start);
    if (page.sorted !== null) pushFiring(page, { time, keyId });
    this.touch(page);
  }

  private deleteNow(time: number, keyId: string): void {
    const page = this.page(pageOf(time, this.pageMs), false);
    if (page !== undefined && takeTimer(page, time, keyId) !== ABSENT) this.removed(page, keyId);
  }

  nextDue(watermark: number): DueTimer | undefined {
    this.assertLoaded();
    this.seen = watermark;
    if (this.far.min - watermark <= FAR_MS) this.applyHeld();
    if (watermark < this.earliest) return undefined;
    for (;;) {
      const page = this.firing(watermark);
      if (page === undefined) {
        // The earliest page starts after the watermark (a page's start is ≤ its timers), or there is none.
        this.earliest = this.index.first ?? Infinity;
        return undefined;
      }
      const t = peekFiring(page)!;
      // Maybe no longer live (deleted since the page started firing): still no live timer of the
      // page is earlier (the order holds every one), and later pages start after it.
      if (t.time > watermark) {
        this.earliest = t.time;
        return undefined;
      }
      popFiring(page);
      const taken = takeTimer(page, t.time, t.keyId);
      if (taken === ABSENT) continue;
      this.removed(page, t.keyId);
      // The operator looks the key up next (its state, maybe a new timer): spare it the conversion.
      const key = latin1Bytes(t.keyId);
      rememberLatin1(key, t.keyId);
      return { time: t.time, key, tagged: taken === TAKEN_TAGGED };
    }
  }

  nextTime(): number | undefined {
    this.assertLoaded();
    this.applyHeld();
    for (;;) {
      const page = this.firing(Number.POSITIVE_INFINITY);
      if (page === undefined) return undefined;
      const t = peekFiring(page)!;
      if (holds(page, t.time, t.keyId)) return t.time;
      popFiring(page);
    }
  }

  get size(): number {
    this.applyHeld();
    return this.live;
  }

  /** Pages held in memory now (the rest are only in LevelDB). */
  get pagesInMemory(): number {
    this.applyHeld();
    return this.pages.size;
  }

  /** Whether an op at `time` is held back: more than FAR_MS past the watermark (never before the first nextDue, never at +Infinity). */
  private isFar(time: number): boolean {
    return time - this.seen > FAR_MS && time !== Infinity;
  }

  /** Applies the ops held back, page by page. */
  private applyHeld(): void {
    if (this.far.length > 0) this.far.drain(this.pageMs, this.applyOp);
  }

  private readonly applyOp = (kind: FarOpKind, time: number, keyId: string): void => (kind === DELETE ? this.deleteNow(time, keyId) : this.registerNow(time, keyId, kind === REGISTER_TAGGED));

  /**
   * Captures the pages whose LevelDB entry lags them (and old-layout entries to delete): each is
   * encoded later with the timers it holds now (timer-capture.ts); on abort they stay dirty.
   */
  collect(): FlushBatch {
    this.applyHeld();
    const legacy = this.legacy;
    this.legacy = [];
    const capture = new TimerCapture(this.dirty, legacy, (page) => timerPageKey(this.step, this.partition, page.start), (page) => this.encodePage(page));
    const { pages: taken, versions, puts: wrote } = capture;
    this.capture = capture;
    return {
      // Read before complete(): encoded now (what a caller reading the ops needs).
      get ops() {
        capture.run(Number.POSITIVE_INFINITY);
        return capture.ops;
      },
      get bytes() {
        return capture.bytes;
      },
      complete: (deadline, limit) => capture.run(deadline, limit),
      commit: () => {
        if (!capture.done) throw new TributaryError('TRIB_INTERNAL', `${this.name}: commit() of a batch not completed`);
        this.capture = undefined;
        for (let i = 0; i < taken.length; i++) {
          const page = taken[i]!;
          page.flushing--;
          page.onDisk = wrote[i]!;
          if (page.version === versions[i]) {
            page.dirty = false;
            this.dirty.delete(page);
          }
        }
        this.dropClean();
      },
      abort: () => {
        capture.release();
        this.capture = undefined;
        for (const page of taken) page.flushing--;
        this.legacy = legacy.concat(this.legacy);
      },
    };
  }

  /** A captured page's timers as its LevelDB entry. */
  private encodePage(page: Page): Uint8Array {
    const { timers, grew } = checkpointOrder(page);
    this.grow(page, grew);
    return encodeTimerPage(timers, { has: (keyId) => isTagged(page, keyId) });
  }

  private assertLoaded(): void {
    // Firing or registering before the persisted timers are in would lose or duplicate timers.
    if (!this.loaded) throw new TributaryError('TRIB_INTERNAL', `${this.name} used before loadTimers()`);
  }

  /** The page holding the earliest live timer, its firing order built, if its start is <= watermark (the timer at its cursor may be gone: callers skip it). */
  private firing(watermark: number): Page | undefined {
    for (;;) {
      const start = this.index.first;
      if (start === undefined || start > watermark) return undefined;
      const page = this.page(start, false)!;
      if (page.sorted === null) {
        page.sorted = timersOf(page);
        page.cursor = 0;
      }
      if (peekFiring(page) !== undefined) return page;
      // Unreachable while the index lists exactly the non-empty pages; never loop on a stale entry.
      this.index.remove(start);
      page.sorted = page.late = null;
    }
  }

  /** The page starting at `start`: in memory, read from LevelDB, or (create) a new empty one. */
  private page(start: number, create: boolean): Page | undefined {
    const memory = this.memory;
    let page = this.pages.get(start / this.pageMs);
    if (page !== undefined) {
      page.used = ++memory.clock;
      // Every change of a page looks it up here first: one a checkpoint captured is encoded before it changes.
      if (page.captured >= 0) this.capture?.encode(page);
      return page;
    }
    const listed = this.index.has(start);
    if (!listed && !create) return undefined;
    const stored = listed && this.bottom !== undefined ? this.bottom.getSync(timerPageKey(this.step, this.partition, start)) : undefined;
    page = { start, timers: new Map(), count: 0, bytes: PAGE_BYTES, sorted: null, cursor: 0, late: null, dirty: false, onDisk: stored !== undefined, flushing: 0, captured: -1, version: 0, used: ++memory.clock };
    memory.held += PAGE_BYTES;
    if (stored !== undefined) {
      const tagged = new Set<string>();
      for (const t of decodeTimerPage(stored, tagged)) if (addTimer(page, t.time, t.keyId, tagged.has(t.keyId))) this.grow(page, timerBytes(t.keyId));
    }
    this.pages.set(start / this.pageMs, page);
    return page;
  }

  private grow(page: Page, bytes: number): void {
    page.bytes += bytes;
    this.memory.held += bytes;
  }

  /** After a timer of `page` was removed from its map. */
  private removed(page: Page, keyId: string): void {
    this.live--;
    this.grow(page, -timerBytes(keyId));
    if (page.count === 0) {
      this.index.remove(page.start);
      page.sorted = page.late = null;
    } else if (page.sorted !== null && page.cursor > 256 && page.cursor * 2 > page.sorted.length) {
      // Fired timers at the front of a long page: let them go.
      page.sorted.splice(0, page.cursor);
      page.cursor = 0;
    }
    this.touch(page);
  }

  private touch(page: Page): void {
    page.version++;
    if (!page.dirty) {
      page.dirty = true;
      this.dirty.add(page);
    }
  }

  /**
   * LevelDB holds every clean page: keep them while the backend's clean pages fit its budget,
   * dropping the least recently used first, never the one being fired (and all, without a store).
   */
  private dropClean(): void {
    if (this.bottom === undefined) return;
    const memory = this.memory;
    const firing = this.index.first;
    const clean: Page[] = [];
    for (const page of this.pages.values()) {
      if (page.dirty || page.flushing > 0 || page.start === firing) continue;
      if (page.count > 0) clean.push(page);
      else {
        // Empty and written: nothing to keep.
        this.pages.delete(page.start / this.pageMs);
        memory.held -= page.bytes;
      }
    }
    if (memory.held <= memory.budget) return;
    clean.sort((a, b) => a.used - b.used);
    for (let i = 0; i < clean.length && memory.held > memory.budget; i++) {
      const page = clean[i]!;
      this.pages.delete(page.start / this.pageMs);
      memory.held -= page.bytes;
    }
  }
}
