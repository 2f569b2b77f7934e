/**
 * Persistent event-time timers for one (step, partition), kept in LevelDB as pages: all timers
 * whose time falls in one page of event time (codec/timer-page.ts) are one entry. Memory holds
 * only an index of the non-empty pages (one number per page: bounded by the event-time span
 * the timers cover, not by the number of keys), the page being fired, and the pages changed
 * since the last written checkpoint; a page is read with one synchronous point read (getSync)
 * when a timer of it is registered, deleted or due, because timers fire inside synchronous
 * operator calls and classic-level has no synchronous range read.
 *
 * A page is dirty while its LevelDB entry lags it: a checkpoint writes it (or deletes it when it
 * emptied), and once the batch is written it is dropped from memory unless it is being fired.
 * Timers fire in (time, key bytes) order: pages in start order, a page's timers sorted once when
 * it starts firing (timers registered into it meanwhile are inserted in order).
 */
import type { TimerService } from './types.js';
import type { BytesOp, BytesStore } from './level-bytes-store.js';
import { latin1, latin1Bytes, rememberLatin1, type FlushBatch } from './write-back-cache.js';
import { assertScope, assertTime, timerPageKey } from './codec/state-key.js';
import { compareTimers, decodeTimerPage, encodeTimerPage, pageOf, type PagedTimer } from './codec/timer-page.js';
import { TributaryError } from '../core/errors.js';
import { hasSorted, insertSorted, removeSorted } from '../core/sorted.js';

export interface DueTimer {
  time: number;
  key: Uint8Array;
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

interface Timer extends PagedTimer {
  /** False once fired or deleted (it may still sit in its page's firing order, skipped). */
  live: boolean;
}

interface Page {
  readonly start: number;
  /** Live timers by id (time + key). */
  readonly timers: Map<string, Timer>;
  /** Firing order from `cursor` on, built when the page is first fired from. */
  sorted: Timer[] | null;
  cursor: number;
  dirty: boolean;
  /** LevelDB holds this page as of the last written batch (or the read that loaded it). */
  onDisk: boolean;
  /** Collected batches not yet committed or aborted that hold this page. */
  flushing: number;
  /** Bumped by every change, so a commit can tell whether the page changed after collection. */
  version: number;
}

const idOf = (time: number, keyId: string): string => `${time}/${keyId}`;

export class PersistentTimers implements PersistentTimerService {
  /** Starts of the pages holding live timers, ascending. */
  private index: number[] = [];
  private readonly pages = new Map<number, Page>();
  private readonly dirty = new Set<Page>();
  /** Entries of the layout before pages (one per timer), deleted by the next checkpoint. */
  private legacy: Uint8Array[] = [];
  private live = 0;
  private loaded = false;
  /**
   * No live timer is earlier than this (a lower bound, exact after a nextDue that found nothing
   * due): a watermark below it has nothing to fire, answered without touching the pages. The
   * watermark moves after every record, so this is asked far more often than anything is due.
   */
  private earliest = -Infinity;

  /**
   * @param name for messages, e.g. "timers of step 'x' partition 3"
   * @param bottom where pages live; without one every page stays in memory
   */
  constructor(
    readonly step: number,
    readonly partition: number,
    private readonly name = `timers of step ${step} partition ${partition}`,
    private readonly bottom?: BytesStore,
    private readonly pageMs = DEFAULT_TIMER_PAGE_MS,
  ) {
    assertScope(step, partition);
  }

  /** Map key of this service's scope. */
  get scope(): string {
    return `${this.step}/${this.partition}`;
  }

  /**
   * Enables the service with what LevelDB holds: its pages (start and timer count) and any
   * timers of the older one-entry-per-timer layout (time, record key, LevelDB key), which move
   * into pages at the next checkpoint.
   */
  load(pages: Iterable<readonly [number, number]> = [], legacy: Iterable<readonly [number, Uint8Array, Uint8Array]> = []): void {
    for (const [start, count] of pages) {
      if (count === 0) continue;
      insertSorted(this.index, start);
      this.live += count;
    }
    this.loaded = true;
    this.earliest = -Infinity;
    for (const [time, key, stored] of legacy) {
      this.register(time, key);
      this.legacy.push(stored);
    }
  }

  /**
   * Forgets every timer, pending changes included, and requires load() again: the next load
   * reads LevelDB afresh (a task closed, or about to be restored). Not while a collected batch
   * is in flight.
   */
  unload(): void {
    this.index = [];
    this.pages.clear();
    this.dirty.clear();
    this.legacy = [];
    this.live = 0;
    this.loaded = false;
    this.earliest = -Infinity;
  }

  get isLoaded(): boolean {
    return this.loaded;
  }

  register(time: number, key: Uint8Array): void {
    this.assertLoaded();
    assertTime(time);
    if (time < this.earliest) this.earliest = time;
    const keyId = latin1(key);
    const page = this.page(pageOf(time, this.pageMs), true)!;
    const id = idOf(time, keyId);
    if (page.timers.has(id)) return;
    const t: Timer = { time, keyId, live: true };
    page.timers.set(id, t);
    this.live++;
    if (page.timers.size === 1) insertSorted(this.index, page.start);
    const sorted = page.sorted;
    if (sorted !== null) {
      // Among the timers not fired yet; one earlier than those fired already fires next.
      let lo = page.cursor;
      let hi = sorted.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (compareTimers(sorted[mid]!, t) < 0) lo = mid + 1;
        else hi = mid;
      }
      sorted.splice(lo, 0, t);
    }
    this.touch(page);
  }

  delete(time: number, key: Uint8Array): void {
    this.assertLoaded();
    const keyId = latin1(key);
    const page = this.page(pageOf(time, this.pageMs), false);
    const t = page?.timers.get(idOf(time, keyId));
    if (t !== undefined) this.remove(page!, t);
  }

  nextDue(watermark: number): DueTimer | undefined {
    this.assertLoaded();
    if (watermark < this.earliest) return undefined;
    const page = this.firing(watermark);
    if (page === undefined) {
      // The earliest page starts after the watermark (a page's start is ≤ its timers), or there is none.
      this.earliest = this.index[0] ?? Infinity;
      return undefined;
    }
    const t = page.sorted![page.cursor]!;
    if (t.time > watermark) {
      this.earliest = t.time;
      return undefined;
    }
    page.cursor++;
    this.remove(page, t);
    // The operator looks the key up next (its state, maybe a new timer): spare it the conversion.
    const key = latin1Bytes(t.keyId);
    rememberLatin1(key, t.keyId);
    return { time: t.time, key };
  }

  nextTime(): number | undefined {
    this.assertLoaded();
    const page = this.firing(Number.POSITIVE_INFINITY);
    return page?.sorted![page.cursor]!.time;
  }

  get size(): number {
    return this.live;
  }

  /** Pages held in memory now (the rest are only in LevelDB). */
  get pagesInMemory(): number {
    return this.pages.size;
  }

  /** Pages whose LevelDB entry lags them (and old-layout entries to delete); on abort they stay pending. */
  collect(): FlushBatch {
    const ops: BytesOp[] = [];
    const taken: Page[] = [];
    const versions: number[] = [];
    const wrote: boolean[] = [];
    let bytes = 0;
    for (const page of this.dirty) {
      const key = timerPageKey(this.step, this.partition, page.start);
      const put = page.timers.size > 0;
      if (put) {
        const value = encodeTimerPage([...page.timers.values()].sort(compareTimers));
        ops.push({ type: 'put', key, value });
        bytes += key.length + value.length;
      } else if (page.onDisk || page.flushing > 0) {
        ops.push({ type: 'del', key });
        bytes += key.length;
      }
      taken.push(page);
      versions.push(page.version);
      wrote.push(put);
    }
    const legacy = this.legacy;
    this.legacy = [];
    for (const key of legacy) {
      ops.push({ type: 'del', key });
      bytes += key.length;
    }
    for (const page of taken) page.flushing++;
    return {
      ops,
      bytes,
      commit: () => {
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
        for (const page of taken) page.flushing--;
        this.legacy = legacy.concat(this.legacy);
      },
    };
  }

  private assertLoaded(): void {
    // Firing or registering before the persisted timers are in would lose or duplicate timers.
    if (!this.loaded) throw new TributaryError('TRIB_INTERNAL', `${this.name} used before loadTimers()`);
  }

  /** The page holding the earliest live timer, its firing order built, if its start is <= watermark. */
  private firing(watermark: number): Page | undefined {
    for (;;) {
      const start = this.index[0];
      if (start === undefined || start > watermark) return undefined;
      const page = this.page(start, false)!;
      if (page.sorted === null) {
        page.sorted = [...page.timers.values()].sort(compareTimers);
        page.cursor = 0;
      }
      const sorted = page.sorted;
      while (page.cursor < sorted.length && !sorted[page.cursor]!.live) page.cursor++;
      if (page.cursor < sorted.length) return page;
      // Unreachable while the index lists exactly the non-empty pages; never loop on a stale entry.
      this.index.shift();
      page.sorted = null;
    }
  }

  /** The page starting at `start`: in memory, read from LevelDB, or (create) a new empty one. */
  private page(start: number, create: boolean): Page | undefined {
    let page = this.pages.get(start);
    if (page !== undefined) return page;
    const listed = hasSorted(this.index, start);
    if (!listed && !create) return undefined;
    const stored = listed && this.bottom !== undefined ? this.bottom.getSync(timerPageKey(this.step, this.partition, start)) : undefined;
    page = { start, timers: new Map(), sorted: null, cursor: 0, dirty: false, onDisk: stored !== undefined, flushing: 0, version: 0 };
    if (stored !== undefined) for (const t of decodeTimerPage(stored)) page.timers.set(idOf(t.time, t.keyId), { time: t.time, keyId: t.keyId, live: true });
    this.pages.set(start, page);
    return page;
  }

  private remove(page: Page, t: Timer): void {
    t.live = false;
    page.timers.delete(idOf(t.time, t.keyId));
    this.live--;
    if (page.timers.size === 0) {
      removeSorted(this.index, page.start);
      page.sorted = null;
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

  /** LevelDB holds every clean page: keep only the one being fired (and all, without a store). */
  private dropClean(): void {
    if (this.bottom === undefined) return;
    const firing = this.index[0];
    for (const [start, page] of this.pages) {
      if (!page.dirty && page.flushing === 0 && start !== firing) this.pages.delete(start);
    }
  }
}
