/**
 * One checkpoint's batches (the cache's, every timer service's) with the registry and meta ops
 * that go after them: encoded a slice at a time (capture.ts, timer-capture.ts), then gathered
 * into the ops of ONE LevelDB batch — state and timer ops first (changes() reads them).
 */
import { TributaryError, errorMessage } from '../core/errors.js';
import type { BytesOp, PackedOps } from './level-bytes-store.js';
import type { FlushBatch } from './write-back-cache.js';
import { changesOf, type StateChange } from './changelog-keys.js';

/**
 * ready() encodes this long at a time, then lets the event loop turn: the run loop processes
 * records meanwhile, yielding every 5 ms (runner.ts), so encoding gets half the time. With 2 ms
 * slices a checkpoint stayed in flight so long that the loan-risk topology at 1M users peaked
 * 70 MiB higher (records processed meanwhile dirty entries that cannot be evicted before it).
 */
const ENCODE_SLICE_MS = 5;

export class CapturedBatches {
  readonly packed: PackedOps[];
  private readonly ownBytes: number;
  private encoded = false;
  private ops: BytesOp[] | undefined;
  private stateOpCount = 0;
  private changeSets: Map<number, StateChange[]> | undefined;

  /** @param own the ops after the state and timer ops (registry, checkpoint meta) */
  constructor(
    private readonly batches: readonly FlushBatch[],
    private readonly own: readonly BytesOp[],
  ) {
    this.packed = batches.flatMap((b) => (b.packed !== undefined ? [b.packed] : []));
    this.ownBytes = own.reduce((n, op) => n + op.key.length + (op.type === 'put' ? op.value.length : 0), 0);
  }

  /**
   * Encodes until all is (true), or `deadline` (performance.now()) has passed or `limit` entries
   * of a batch were encoded (false: call again). Throws TRIB_STATE_IO when an encode failed.
   */
  encode(deadline: number, limit?: number): boolean {
    if (this.encoded) return true;
    try {
      for (const b of this.batches) if (b.complete !== undefined && !b.complete(deadline, limit)) return false;
    } catch (err) {
      throw new TributaryError('TRIB_STATE_IO', `checkpoint failed while encoding state: ${errorMessage(err)}`, { cause: err });
    }
    return (this.encoded = true);
  }

  /**
   * Encodes a slice at a time (at most `sliceEntries` entries per slice: tests), letting the event
   * loop turn between slices; all at once while `pressed()` (memory wants the checkpoint done).
   */
  async ready(sliceEntries?: number, pressed: () => boolean = () => false): Promise<void> {
    while (!this.encode(pressed() ? Number.POSITIVE_INFINITY : performance.now() + ENCODE_SLICE_MS, sliceEntries)) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Every op but the packed ones, all encoded now if they were not yet. */
  all(): BytesOp[] {
    this.encode(Number.POSITIVE_INFINITY);
    if (this.ops !== undefined) return this.ops;
    const ops = this.batches.flatMap((b) => b.ops);
    this.stateOpCount = ops.length;
    for (const op of this.own) ops.push(op);
    return (this.ops = ops);
  }

  get entries(): number {
    const ops = this.all();
    return this.packed.reduce((n, p) => n + p.length, ops.length);
  }

  get bytes(): number {
    this.all();
    return this.batches.reduce((n, b) => n + b.bytes, this.ownBytes);
  }

  /** The state and timer ops as step-neutral changes (changelog-keys.ts). */
  changes(stepIdOf: (n: number) => string | undefined): Map<number, StateChange[]> {
    if (this.changeSets !== undefined) return this.changeSets;
    const state = this.all().slice(0, this.stateOpCount); // encodes first: the packed ops are complete after
    return (this.changeSets = changesOf([...this.packed.flatMap((p) => p.toOps()), ...state], stepIdOf));
  }

  commit(): void {
    for (const b of this.batches) b.commit();
  }

  abort(): void {
    for (const b of this.batches) b.abort();
  }
}
