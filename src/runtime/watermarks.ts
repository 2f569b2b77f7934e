/**
 * Event-time watermarks per task, one model for local and Kafka mode (DESIGN.md "Time"). A task
 * is (sub-topology, partition); each has its own watermark, never decreasing:
 *   - a sub-topology that reads a source: that source's partition p — max event time −
 *     maxOutOfOrderness, or the max event time itself once the input has ended;
 *   - a sub-topology that reads a keyBy's repartition output: the min over the upstream tasks
 *     (Flink's rule). Locally the upstream tasks are in this process and are read directly; in
 *     Kafka mode their watermarks arrive through the repartition topic (markers, and the header
 *     every repartitioned record carries), so the `upstream` hook supplies them.
 * A task's watermark moves after each of its records (as Kafka Streams' stream time), never in
 * poll batches, so lateness does not depend on batch boundaries and a replay decides the same.
 * An upstream task that has seen no record and has gone idle stops holding its readers back.
 */

export interface SubTopologyInfo {
  readonly index: number;
  /** Sub-topology whose keyBy output this one reads; undefined for a sub-topology that reads a source. */
  readonly upstream?: number;
  /** Sub-topologies that read this one's repartitioned output. */
  readonly downstream: readonly number[];
}

/** A source-reading task's own progress. */
export interface SourceProgress {
  watermark: number;
  /** No active input and no record ever: it must not hold readers of its output back. */
  idle: boolean;
}

export interface WatermarkHooks {
  /** The watermark a source-reading task's input allows now. */
  source(sub: number, partition: number, now: number, ended: boolean): SourceProgress;
  /**
   * Kafka mode: the watermark the repartition input of `sub` allows in partition p (undefined:
   * an upstream task has not reported yet; +Infinity: every upstream task is idle). Undefined
   * hook: local mode, upstream tasks are read directly.
   */
  upstream?(sub: number, partition: number): number | undefined;
  /** A task's watermark moved: fire its due timers. */
  advanced(sub: number, partition: number, watermark: number): void;
  /** Kafka mode: a task that repartitions moved (or went idle): tell its readers. */
  mark?(sub: number, partition: number, watermark: number, idle: boolean, now: number): void;
}

export class TaskWatermarks {
  private readonly wm: Float64Array[];
  private readonly idle: Uint8Array[];
  /**
   * Local mode: per sub-topology, the upstream minimum last handed to its readers (NaN: none
   * yet). The min over P tasks rises far less often than once per record, and the readers' P
   * tasks need a visit only when it does.
   */
  private readonly propagated: Float64Array;

  constructor(
    private readonly subs: readonly SubTopologyInfo[],
    private readonly partitions: number,
    private readonly hooks: WatermarkHooks,
  ) {
    this.wm = subs.map(() => new Float64Array(partitions).fill(-Infinity));
    this.idle = subs.map(() => new Uint8Array(partitions));
    this.propagated = new Float64Array(subs.length).fill(NaN);
  }

  of(sub: number, partition: number): number {
    return this.wm[sub]![partition]!;
  }

  /** Every task's watermark, per sub-topology (null for −Infinity): what a checkpoint keeps. */
  snapshot(partitions?: Iterable<number>): Array<Record<number, number | null>> {
    return this.wm.map((row) => {
      const out: Record<number, number | null> = {};
      for (const p of partitions ?? row.keys()) out[p] = Number.isFinite(row[p]!) ? row[p]! : null;
      return out;
    });
  }

  /** A task opens at its checkpointed watermark (set without firing: its timers fire on the next advance). */
  restore(sub: number, partition: number, watermark: number | null | undefined): void {
    const row = this.wm[sub];
    if (row === undefined || watermark === null || watermark === undefined) return;
    if (watermark > row[partition]!) row[partition] = watermark;
    this.propagated.fill(NaN);
  }

  /** A task moved away: its next owner starts from its own checkpoint. */
  reset(partition: number): void {
    for (let s = 0; s < this.subs.length; s++) {
      this.wm[s]![partition] = -Infinity;
      this.idle[s]![partition] = 0;
      this.propagated[s] = NaN;
    }
  }

  /** The lowest watermark over `partitions` of every sub-topology that has one (for progress lines). */
  low(partitions: Iterable<number>): number {
    let min = Infinity;
    for (const row of this.wm) for (const p of partitions) if (Number.isFinite(row[p]!) && row[p]! < min) min = row[p]!;
    return min === Infinity ? -Infinity : min;
  }

  /** After a record of a source-reading task: its watermark may move. */
  sourceProgress(sub: number, partition: number, now: number, ended = false): void {
    const s = this.hooks.source(sub, partition, now, ended);
    this.advance(sub, partition, s.watermark, s.idle, now);
  }

  /** Kafka mode: after a repartitioned record or marker reached task (sub, p). */
  upstreamProgress(sub: number, partition: number, now: number): void {
    const w = this.hooks.upstream?.(sub, partition);
    if (w === undefined) return;
    this.advance(sub, partition, w === Infinity ? -Infinity : w, w === Infinity, now);
  }

  /** Everything again, for `partitions`: idle timeouts, the end of bounded inputs, Kafka upstream markers. */
  refresh(partitions: readonly number[], now: number, ended: boolean): void {
    for (const info of this.subs) {
      for (const p of partitions) {
        if (info.upstream === undefined) this.sourceProgress(info.index, p, now, ended);
        else if (this.hooks.upstream) this.upstreamProgress(info.index, p, now);
      }
    }
  }

  /** Move every task of `partitions` to at least `time` (the test driver's advanceWatermark). */
  forceAll(partitions: readonly number[], time: number, now: number): void {
    // Readers' idle flags are overwritten here: the next upstream minimum must reach them again.
    this.propagated.fill(NaN);
    for (const info of this.subs) for (const p of partitions) this.advance(info.index, p, time, false, now);
  }

  /**
   * Moves task (sub, p) to `watermark` if that is ahead, fires its timers, and tells the readers
   * of its repartitioned output when it moved or its idleness changed (Kafka: always, the writer
   * throttles; a mark it dropped goes out with a later call).
   */
  private advance(sub: number, partition: number, watermark: number, idle: boolean, now: number): void {
    const row = this.wm[sub]!;
    const flags = this.idle[sub]!;
    let changed = (flags[partition] === 1) !== idle;
    flags[partition] = idle ? 1 : 0;
    if (watermark > row[partition]!) {
      row[partition] = watermark;
      this.hooks.advanced(sub, partition, watermark);
      changed = true;
    }
    if (changed || this.hooks.mark) this.mark(sub, partition, now);
  }

  /** Readers of this task's repartitioned output learn where it stands. */
  private mark(sub: number, partition: number, now: number): void {
    const info = this.subs[sub]!;
    if (info.downstream.length === 0) return;
    if (this.hooks.mark) {
      this.hooks.mark(sub, partition, this.wm[sub]![partition]!, this.idle[sub]![partition] === 1, now);
      return;
    }
    const w = this.localUpstream(sub);
    if (w === undefined || w === this.propagated[sub]) return;
    this.propagated[sub] = w;
    for (const d of info.downstream) {
      for (let p = 0; p < this.partitions; p++) this.advance(d, p, w === Infinity ? -Infinity : w, w === Infinity, now);
    }
  }

  /** Local mode: min over the upstream tasks that are not idle; undefined when it cannot move; +Infinity when all are idle. */
  private localUpstream(sub: number): number | undefined {
    const row = this.wm[sub]!;
    const idle = this.idle[sub]!;
    let min = Infinity;
    for (let p = 0; p < this.partitions; p++) {
      if (idle[p] === 1) continue;
      if (row[p]! < min) min = row[p]!;
    }
    return min === -Infinity ? undefined : min;
  }
}
