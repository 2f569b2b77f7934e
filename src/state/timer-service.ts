/**
 * Persistent event-time timers for one (step, partition): an in-memory min-heap ordered by
 * (time, key bytes), a map from record key to that key's timers (operators keep one or a few
 * per key) for dedupe and deletion, and the timers whose LevelDB state lags their live state.
 *
 * Each timer knows whether it is live and whether LevelDB holds it: it needs a put or a del at
 * the next checkpoint only when the two differ, so a timer registered and fired (or deleted)
 * between two checkpoints costs no LevelDB op. Deletion is lazy: a deleted timer stays in the
 * heap until it surfaces; the heap is rebuilt when stale entries outnumber live ones.
 */
import type { TimerService } from './types.js';
import type { BytesOp } from './level-bytes-store.js';
import { latin1, latin1Bytes, rememberLatin1, type FlushBatch } from './write-back-cache.js';
import { assertScope, assertTime, timerKey } from './codec/state-key.js';
import { TributaryError } from '../core/errors.js';

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

interface Timer {
  readonly time: number;
  /** latin1(record key): compares as the bytes do, keys the map, and is the key (no copy of the caller's bytes). */
  readonly keyId: string;
  /** The key's next timer (a short chain: operators keep one or a few timers per key). */
  next: Timer | undefined;
  live: boolean;
  inHeap: boolean;
  /** LevelDB holds this timer as of the last written batch. */
  onDisk: boolean;
  /** Collected batches not yet committed or aborted that hold this timer. */
  flushing: number;
  dirty: boolean;
}

export class PersistentTimers implements PersistentTimerService {
  private heap: Timer[] = [];
  private readonly byKey = new Map<string, Timer>();
  private readonly dirty = new Set<Timer>();
  private live = 0;
  private loaded = false;

  /** @param name for messages, e.g. "timers of step 'x' partition 3" */
  constructor(
    readonly step: number,
    readonly partition: number,
    private readonly name = `timers of step ${step} partition ${partition}`,
  ) {
    assertScope(step, partition);
  }

  /** Map key of this service's scope. */
  get scope(): string {
    return `${this.step}/${this.partition}`;
  }

  /** Adds the timers read back from LevelDB (already persisted, so not pending) and enables the service. */
  load(persisted: Iterable<readonly [number, Uint8Array]>): void {
    for (const [time, key] of persisted) {
      const keyId = latin1(key);
      const t = this.find(time, keyId) ?? this.create(time, keyId);
      t.onDisk = true;
      if (!t.live) this.revive(t);
    }
    this.loaded = true;
  }

  /**
   * Forgets every timer, pending changes included, and requires load() again: the next load
   * reads LevelDB afresh (a task closed, or about to be restored). Not while a collected batch
   * is in flight.
   */
  unload(): void {
    this.heap = [];
    this.byKey.clear();
    this.dirty.clear();
    this.live = 0;
    this.loaded = false;
  }

  get isLoaded(): boolean {
    return this.loaded;
  }

  register(time: number, key: Uint8Array): void {
    this.assertLoaded();
    assertTime(time);
    const keyId = latin1(key);
    const t = this.find(time, keyId) ?? this.create(time, keyId);
    if (t.live) return;
    this.revive(t);
    this.settle(t);
  }

  delete(time: number, key: Uint8Array): void {
    this.assertLoaded();
    const t = this.find(time, latin1(key));
    if (t === undefined || !t.live) return;
    t.live = false;
    this.live--;
    this.settle(t);
    this.compactIfStale();
  }

  nextDue(watermark: number): DueTimer | undefined {
    this.assertLoaded();
    const top = this.peek();
    if (!top || top.time > watermark) return undefined;
    this.pop();
    top.live = false;
    this.live--;
    this.settle(top);
    // The operator looks the key up next (its state, maybe a new timer): spare it the conversion.
    const key = latin1Bytes(top.keyId);
    rememberLatin1(key, top.keyId);
    return { time: top.time, key };
  }

  nextTime(): number | undefined {
    this.assertLoaded();
    return this.peek()?.time;
  }

  get size(): number {
    return this.live;
  }

  /** Timers whose LevelDB state differs from their live state; on abort they stay pending. */
  collect(): FlushBatch {
    const ops: BytesOp[] = [];
    const taken: Timer[] = [];
    const wrote: boolean[] = [];
    let bytes = 0;
    for (const t of this.dirty) {
      const key = timerKey(this.step, this.partition, t.time, t.keyId);
      ops.push(t.live ? { type: 'put', key, value: new Uint8Array(0) } : { type: 'del', key });
      bytes += key.length;
      taken.push(t);
      wrote.push(t.live);
    }
    for (const t of taken) t.flushing++;
    return {
      ops,
      bytes,
      commit: () => {
        for (let i = 0; i < taken.length; i++) {
          const t = taken[i]!;
          t.flushing--;
          t.onDisk = wrote[i]!;
          this.settle(t);
        }
      },
      abort: () => {
        for (const t of taken) {
          t.flushing--;
          this.settle(t);
        }
      },
    };
  }

  private assertLoaded(): void {
    // Firing or registering before the persisted timers are in would lose or duplicate timers.
    if (!this.loaded) throw new TributaryError('TRIB_INTERNAL', `${this.name} used before loadTimers()`);
  }

  private find(time: number, keyId: string): Timer | undefined {
    for (let t = this.byKey.get(keyId); t !== undefined; t = t.next) if (t.time === time) return t;
    return undefined;
  }

  private create(time: number, keyId: string): Timer {
    const t: Timer = { time, keyId, next: this.byKey.get(keyId), live: false, inHeap: false, onDisk: false, flushing: 0, dirty: false };
    this.byKey.set(keyId, t);
    return t;
  }

  private revive(t: Timer): void {
    t.live = true;
    this.live++;
    if (!t.inHeap) this.push(t);
  }

  /** Dirty while LevelDB lags (or a batch in flight holds it); forgotten once dead and not on disk. */
  private settle(t: Timer): void {
    if (t.live !== t.onDisk || t.flushing > 0) {
      if (!t.dirty) {
        t.dirty = true;
        this.dirty.add(t);
      }
      return;
    }
    if (t.dirty) {
      t.dirty = false;
      this.dirty.delete(t);
    }
    if (!t.live) this.unlink(t);
  }

  private unlink(t: Timer): void {
    const first = this.byKey.get(t.keyId);
    if (first === t) {
      if (t.next === undefined) this.byKey.delete(t.keyId);
      else this.byKey.set(t.keyId, t.next);
      return;
    }
    for (let p = first; p !== undefined; p = p.next) {
      if (p.next === t) {
        p.next = t.next;
        return;
      }
    }
  }

  /** The earliest live timer, discarding stale heap entries on the way. */
  private peek(): Timer | undefined {
    while (this.heap.length > 0) {
      const top = this.heap[0]!;
      if (top.live) return top;
      this.pop();
    }
    return undefined;
  }

  private compactIfStale(): void {
    if (this.heap.length < 1024 || this.heap.length < 2 * this.live) return;
    for (const t of this.heap) t.inHeap = t.live;
    this.heap = this.heap.filter((t) => t.live).sort((a, b) => (less(a, b) ? -1 : 1));
  }

  private push(t: Timer): void {
    t.inHeap = true;
    const h = this.heap;
    let i = h.push(t) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent]!;
      if (!less(t, p)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = t;
  }

  /** Removes the heap's top. */
  private pop(): void {
    const h = this.heap;
    h[0]!.inHeap = false;
    const last = h.pop()!;
    const n = h.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && less(h[r]!, h[l]!) ? r : l;
      if (!less(h[c]!, last)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
}

function less(a: Timer, b: Timer): boolean {
  return a.time !== b.time ? a.time < b.time : a.keyId < b.keyId;
}
