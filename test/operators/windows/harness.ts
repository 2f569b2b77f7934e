/**
 * An in-memory WindowStore and TimerService plus a driver that plays the runtime: it keeps a
 * watermark (max event time − maxOutOfOrder), hands records to the operator, fires due timers
 * in (time, key) order, and counts state entries and store operations.
 */
import type { Row, Value } from '../../../src/core/record.js';
import type { TimerService, ValueCodec, WindowStore } from '../../../src/state/types.js';
import type { WindowHead, WindowSlice, WindowedAggregation } from '../../../src/operators/windows/windowed-aggregation.js';
import type { WindowResult } from '../../../src/operators/windows/types.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export interface OpCounts {
  sliceGets: number;
  slicePuts: number;
  sliceDeletes: number;
  timerOps: number;
}

/** Stores objects, or (encode = true) their encoded bytes, so every read goes through the codecs. */
export class MemoryWindowStore implements WindowStore<WindowHead, WindowSlice> {
  readonly heads = new Map<string, WindowHead | Uint8Array>();
  readonly slices = new Map<string, WindowSlice | Uint8Array>();
  readonly ops = { sliceGets: 0, slicePuts: 0, sliceDeletes: 0 };

  constructor(
    private readonly codecs: { head: ValueCodec<WindowHead>; slice: ValueCodec<WindowSlice> },
    private readonly encode: boolean,
  ) {}

  getHead(key: Uint8Array): WindowHead | undefined {
    const v = this.heads.get(hex(key));
    return v instanceof Uint8Array ? this.codecs.head.decode(v) : v;
  }
  putHead(key: Uint8Array, head: WindowHead): void {
    this.heads.set(hex(key), this.encode ? this.codecs.head.encode(head) : head);
  }
  deleteHead(key: Uint8Array): void {
    this.heads.delete(hex(key));
  }
  getSlice(key: Uint8Array, start: number): WindowSlice | undefined {
    this.ops.sliceGets++;
    const v = this.slices.get(`${hex(key)}@${start}`);
    return v instanceof Uint8Array ? this.codecs.slice.decode(v) : v;
  }
  putSlice(key: Uint8Array, start: number, slice: WindowSlice): void {
    this.ops.slicePuts++;
    this.slices.set(`${hex(key)}@${start}`, this.encode ? this.codecs.slice.encode(slice) : slice);
  }
  deleteSlice(key: Uint8Array, start: number): void {
    this.ops.sliceDeletes++;
    this.slices.delete(`${hex(key)}@${start}`);
  }
}

export class MemoryTimers implements TimerService {
  readonly timers = new Map<string, { time: number; key: Uint8Array; tagged: boolean }>();
  ops = 0;
  /** Timers fired tagged (the operator was told it may skip reading the key's state). */
  firedTagged = 0;

  /** `honorTags: false` fires every timer untagged, as a service that predates tags would. */
  constructor(private readonly honorTags = true) {}

  register(time: number, key: Uint8Array, tagged = false): void {
    this.ops++;
    const id = `${time}|${hex(key)}`;
    const had = this.timers.get(id);
    // As PersistentTimers: tagged only when new; registering it again clears the tag.
    this.timers.set(id, { time, key, tagged: had === undefined && tagged });
  }
  delete(time: number, key: Uint8Array): void {
    this.ops++;
    this.timers.delete(`${time}|${hex(key)}`);
  }
  /** Removes and returns the earliest timer with time ≤ watermark. */
  popDue(watermark: number): { time: number; key: Uint8Array; tagged: boolean } | undefined {
    let best: { time: number; key: Uint8Array; tagged: boolean; id: string } | undefined;
    for (const [id, t] of this.timers) {
      if (t.time > watermark) continue;
      if (!best || t.time < best.time || (t.time === best.time && id < best.id)) best = { ...t, id };
    }
    if (!best) return undefined;
    this.timers.delete(best.id);
    const tagged = best.tagged && this.honorTags;
    if (tagged) this.firedTagged++;
    return { time: best.time, key: best.key, tagged };
  }
}

export type DriverEvent = { type: 'emit'; result: WindowResult } | { type: 'late'; reason: string };

export interface DriverOptions {
  maxOutOfOrder: number;
  /** 'before': onRecord sees the watermark before this record moves it; 'after': including it. */
  watermark: 'before' | 'after';
  encodeState: boolean;
  /** false: fire every timer untagged (the operator reads the key's state for each). Default true. */
  timerTags?: boolean;
}

export function keyBytes(key: Value): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(key));
}

export class Driver {
  readonly store: MemoryWindowStore;
  readonly timers: MemoryTimers;
  watermark = -Infinity;
  private arrivals = 0;
  private readonly keys = new Map<string, Value>();

  constructor(
    readonly op: WindowedAggregation,
    readonly opts: DriverOptions,
  ) {
    this.store = new MemoryWindowStore({ head: op.headCodec, slice: op.sliceCodec }, opts.encodeState);
    this.timers = new MemoryTimers(opts.timerTags ?? true);
  }

  private ctx() {
    return { store: this.store, timers: this.timers };
  }

  private collector(events: DriverEvent[]) {
    return {
      emit: (result: WindowResult) => events.push({ type: 'emit', result }),
      late: (reason: string) => events.push({ type: 'late', reason }),
    };
  }

  /**
   * Delivers one record; returns what the call emitted, what the timers then emitted, and any
   * error thrown. `externalWatermark`: the task watermark moved for another reason (another
   * input, idleness) just before this record, and its timers have not been delivered yet.
   * `order`: the record's tie-break order (default: its arrival number, so ties follow arrival).
   */
  send(key: Value, time: number, row: Row, externalWatermark = -Infinity, order = this.arrivals): { events: DriverEvent[]; watermarkSeen: number; error?: unknown; timerEvents: DriverEvent[] } {
    this.arrivals++;
    const kb = keyBytes(key);
    this.keys.set(hex(kb), key);
    this.watermark = Math.max(this.watermark, externalWatermark);
    if (this.opts.watermark === 'after') this.watermark = Math.max(this.watermark, time - this.opts.maxOutOfOrder);
    const watermarkSeen = this.watermark;
    const events: DriverEvent[] = [];
    let error: unknown;
    try {
      this.op.onRecord(this.ctx(), key, kb, time, row, watermarkSeen, this.collector(events), order);
    } catch (err) {
      error = err;
    }
    this.watermark = Math.max(this.watermark, time - this.opts.maxOutOfOrder);
    const timerEvents = this.fireTimers();
    return { events, watermarkSeen, error, timerEvents };
  }

  advanceTo(watermark: number): DriverEvent[] {
    this.watermark = Math.max(this.watermark, watermark);
    return this.fireTimers();
  }

  fireTimers(): DriverEvent[] {
    const events: DriverEvent[] = [];
    for (let due = this.timers.popDue(this.watermark); due; due = this.timers.popDue(this.watermark)) {
      const key = this.keys.get(hex(due.key)) ?? null;
      this.op.onTimer(this.ctx(), key, due.key, due.time, this.watermark, this.collector(events), due.tagged);
    }
    return events;
  }

  stateEntries(): { heads: number; slices: number; timers: number } {
    return { heads: this.store.heads.size, slices: this.store.slices.size, timers: this.timers.timers.size };
  }
}
