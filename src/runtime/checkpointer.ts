/**
 * The checkpoint protocol, in one place for local and Kafka mode (after Quix Streams'
 * Checkpoint.commit): read top to bottom, it is the order of DESIGN.md "Checkpoints and recovery".
 *
 *   snapshot   synchronously, between two records: positions, watermarks, counters and every dirty
 *              state entry are captured; every sink (and repartition producer) is asked to flush
 *              what it holds so far. Processing goes on meanwhile (Flink's asynchronous snapshot):
 *              the captured entries are encoded a slice at a time, each before it next changes
 *              (state/capture.ts), so the pause does not grow with the dirty entries.
 *   1. sinks acked          the sinks' and repartition producers' flushes resolve; dead letters
 *                           the sinks settled while flushing are flushed again;
 *   2. changelog acked      Kafka mode: the snapshot's state changes reach the changelog topics;
 *   3. one LevelDB batch    state + positions + checkpoint ids, atomically; written while step 2
 *                           runs (both only after step 1): LevelDB holding a snapshot whose
 *                           changelog then failed is harmless, as its task checkpoint ids are
 *                           never committed, so a restart restores those tasks from the
 *                           changelog (task-restore.ts), and its entries stay dirty;
 *   4. offsets committed    Kafka mode: the group commit, which makes the checkpoint count.
 * A failure at any step aborts the snapshot (nothing of it is written; the next checkpoint takes
 * the entries again), and a crash before step 3 (local) or 4 (Kafka) resumes from the previous
 * checkpoint: outputs repeat (at least once), state never counts an input twice.
 * One checkpoint in flight at a time; task changes (assign, restore, revoke) hold periodic ones back.
 */
import { errorMessage, TributaryError } from '../core/errors.js';
import type { CheckpointMeta, PreparedCheckpoint, StateBackend } from '../state/backend.js';

export interface CheckpointStats {
  ms: number;
  /** The synchronous snapshot: how long processing stood still for it (Flink's "sync duration"). */
  syncMs: number;
  entries: number;
}

/** What the Kafka mode adds: changelog writes between the sinks' acks and the state batch, the group commit after it. */
export interface CheckpointHooks<M extends CheckpointMeta> {
  /** Called at the snapshot instant, to add the tasks' checkpoint ids to the content. */
  describe(meta: M): void;
  /** Extra sink-like buffers to flush with the sinks (repartition producers). */
  flushes(): Array<Promise<void>>;
  /** The snapshot is taken: returns step 2, to run after the sinks acked. */
  prepared(prepared: PreparedCheckpoint, meta: M): () => Promise<void>;
  /** Step 4: the state batch is durable. */
  written(meta: M): Promise<void>;
}

/** The parts of a worker a checkpoint reads and flushes. */
export interface CheckpointParticipants<M extends CheckpointMeta> {
  readonly state: StateBackend;
  /** Positions, watermarks and counters at this instant. */
  content(at: number): M;
  /** Ask every sink to write what it holds; resolves when acknowledged. */
  flushSinks(): Array<Promise<void>>;
  /** Dead letters the sinks refused while flushing reach the DLQ sinks; the first failure, if any. */
  flushLateDeadLetters(): Promise<PromiseRejectedResult | undefined>;
  readonly hooks?: CheckpointHooks<M>;
  /**
   * Metrics: the snapshot was taken (how long processing stood still for it), a checkpoint
   * completed (its duration) or failed.
   */
  readonly observer?: { snapshotted(syncMs: number): void; done(ms: number, meta: M): void; failed(): void };
}

export class Checkpointer<M extends CheckpointMeta> {
  private inflight: Promise<CheckpointStats> | undefined;
  private holds = 0;
  private completed = 0;
  private longestSync = 0;

  constructor(private readonly participants: CheckpointParticipants<M>) {}

  /** Checkpoints completed by this process. */
  get count(): number {
    return this.completed;
  }

  /** The longest synchronous snapshot this process took, in ms (how long a checkpoint held processing up at most). */
  get longestSnapshotMs(): number {
    return this.longestSync;
  }

  get inFlight(): boolean {
    return this.inflight !== undefined;
  }

  /** Whether periodic checkpoints are held back (a task is being opened or closed). */
  get held(): boolean {
    return this.holds > 0;
  }

  /** Take a snapshot now and complete it in the background (the run loop's periodic checkpoint). */
  begin(): Promise<CheckpointStats> {
    if (this.inflight) return Promise.reject(new TributaryError('TRIB_INTERNAL', 'a checkpoint is already in flight'));
    const { state, hooks } = this.participants;
    const started = Date.now();
    const syncStarted = performance.now();
    const meta = this.participants.content(started);
    hooks?.describe(meta);
    const flushes = [...this.participants.flushSinks(), ...(hooks?.flushes() ?? [])];
    let prepared: PreparedCheckpoint;
    let changelogs: (() => Promise<void>) | undefined;
    try {
      prepared = state.prepareCheckpoint(meta);
      changelogs = hooks?.prepared(prepared, meta);
    } catch (err) {
      void Promise.allSettled(flushes);
      return Promise.reject(failed(err));
    }
    // The captured state is encoded a slice at a time while records flow and the sinks flush
    // (capture.ts); the first slice runs now, in this turn, so it counts in the pause.
    const encoded = prepared.ready();
    encoded.catch(() => {}); // awaited below, after the sinks
    const syncMs = performance.now() - syncStarted;
    if (syncMs > this.longestSync) this.longestSync = syncMs;
    this.participants.observer?.snapshotted(syncMs);
    const run = (async (): Promise<CheckpointStats> => {
      // 1. sinks acked
      const settled = await Promise.allSettled(flushes);
      const refused = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected') ?? (await this.participants.flushLateDeadLetters());
      if (refused) {
        prepared.abort();
        throw failed(refused.reason);
      }
      try {
        await encoded;
      } catch (err) {
        prepared.abort();
        throw failed(err);
      }
      try {
        // 2. changelog acked and 3. one LevelDB batch, side by side: entries become clean only
        // when both succeeded (a failure of either leaves them dirty for the next checkpoint).
        const result = await prepared.write(changelogs?.());
        // 4. offsets committed
        if (hooks) await hooks.written(meta);
        this.completed++;
        this.participants.observer?.done(Date.now() - started, meta);
        return { ms: Date.now() - started, syncMs, entries: result.entries };
      } catch (err) {
        throw failed(err);
      }
    })().catch((err: unknown) => {
      this.participants.observer?.failed();
      throw err;
    }).finally(() => {
      this.inflight = undefined;
    });
    this.inflight = run;
    return run;
  }

  /** Checkpoint now and wait until it is durable (after any checkpoint already in flight). */
  async checkpoint(): Promise<CheckpointStats> {
    await this.settled();
    return this.begin();
  }

  /** Wait until no checkpoint is in flight (whether it succeeds or not). */
  async settled(): Promise<void> {
    while (this.inflight) await this.inflight.catch(() => undefined);
  }

  /**
   * Runs `fn` with periodic checkpoints held back (`checkpoint()` called by `fn` itself still
   * runs): task changes (open with restore, close, wipe) must not interleave with a prepared
   * checkpoint, whose snapshot holds the task's cached entries. Waits for one in flight first.
   */
  async hold<T>(fn: () => Promise<T>): Promise<T> {
    this.holds++;
    try {
      await this.settled();
      return await fn();
    } finally {
      this.holds--;
    }
  }
}

function failed(err: unknown): TributaryError {
  return new TributaryError('TRIB_CHECKPOINT', `checkpoint failed: ${errorMessage(err)}`, { cause: err });
}
