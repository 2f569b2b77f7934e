/**
 * Persistent event-time timers for one (step, partition): an in-memory min-heap ordered by
 * (time, key bytes), a map of live timers for dedupe and deletion, and the changes since the
 * last checkpoint. Deletion is lazy: a deleted timer stays in the heap until it surfaces and is
 * recognised as stale; the heap is rebuilt when stale entries outnumber live ones.
 */
import type { TimerService } from './types.js';
import type { BytesOp } from './level-bytes-store.js';
import { latin1, type FlushBatch } from './write-back-cache.js';
import { timerKey } from './codec/state-key.js';
import { TributaryError } from '../errors.js';

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
  time: number;
  key: Uint8Array;
  /** Latin-1 image of the timer's state key: sorts as (time, key) and identifies the timer. */
  id: string;
}

export class PersistentTimers implements PersistentTimerService {
  private heap: Timer[] = [];
  private readonly live = new Map<string, Timer>();
  /** Since the last checkpoint: id -> timer to write, or null to delete. */
  private pending = new Map<string, Timer | null>();

  private loaded = false;

  /** @param name for messages, e.g. "timers of step 'x' partition 3" */
  constructor(
    readonly step: number,
    private readonly partition: number,
    private readonly name = `timers of step ${step} partition ${partition}`,
  ) {}

  /** Map key of this service's scope. */
  get scope(): string {
    return `${this.step}/${this.partition}`;
  }

  /** Adds the timers read back from LevelDB (already persisted, so not pending) and enables the service. */
  load(persisted: Iterable<readonly [number, Uint8Array]>): void {
    for (const [time, key] of persisted) this.add(time, key);
    this.loaded = true;
  }

  register(time: number, key: Uint8Array): void {
    this.assertLoaded();
    const t = this.add(time, key);
    if (t) this.pending.set(t.id, t);
  }

  delete(time: number, key: Uint8Array): void {
    this.assertLoaded();
    const id = this.idOf(time, key);
    if (!this.live.delete(id)) return;
    this.pending.set(id, null);
    this.compactIfStale();
  }

  nextDue(watermark: number): DueTimer | undefined {
    this.assertLoaded();
    const top = this.peek();
    if (!top || top.time > watermark) return undefined;
    this.pop();
    this.live.delete(top.id);
    this.pending.set(top.id, null);
    return { time: top.time, key: top.key };
  }

  nextTime(): number | undefined {
    this.assertLoaded();
    return this.peek()?.time;
  }

  get size(): number {
    return this.live.size;
  }

  /** Timer changes since the last checkpoint; on abort they are merged back under newer ones. */
  collect(): FlushBatch {
    const taken = this.pending;
    this.pending = new Map();
    const ops: BytesOp[] = [];
    let bytes = 0;
    for (const [id, t] of taken) {
      const key = Buffer.from(id, 'latin1');
      ops.push(t ? { type: 'put', key, value: new Uint8Array(0) } : { type: 'del', key });
      bytes += key.length;
    }
    return {
      ops,
      bytes,
      commit: () => {},
      abort: () => {
        for (const [id, t] of taken) if (!this.pending.has(id)) this.pending.set(id, t);
      },
    };
  }

  private assertLoaded(): void {
    // Firing or registering before the persisted timers are in would lose or duplicate timers.
    if (!this.loaded) throw new TributaryError('TRIB_INTERNAL', `${this.name} used before loadTimers()`);
  }

  private idOf(time: number, key: Uint8Array): string {
    return latin1(timerKey(this.step, this.partition, time, key));
  }

  private add(time: number, key: Uint8Array): Timer | undefined {
    const id = this.idOf(time, key);
    if (this.live.has(id)) return undefined;
    // A plain copy: the caller may reuse its buffer, and Buffer#slice would not copy.
    const t: Timer = { time, key: new Uint8Array(key), id };
    this.live.set(id, t);
    this.push(t);
    return t;
  }

  /** The earliest live timer, discarding stale heap entries on the way. */
  private peek(): Timer | undefined {
    while (this.heap.length > 0) {
      const top = this.heap[0]!;
      if (this.live.get(top.id) === top) return top;
      this.pop();
    }
    return undefined;
  }

  private compactIfStale(): void {
    if (this.heap.length < 1024 || this.heap.length < 2 * this.live.size) return;
    this.heap = [...this.live.values()].sort((a, b) => (less(a, b) ? -1 : 1));
  }

  private push(t: Timer): void {
    const h = this.heap;
    let i = h.push(t) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && less(h[l]!, h[m]!)) m = l;
      if (r < h.length && less(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

function less(a: Timer, b: Timer): boolean {
  return a.time !== b.time ? a.time < b.time : a.id < b.id;
}
