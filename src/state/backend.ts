/**
 * The state backend of one worker process: one LevelDB directory, one write-back cache, typed
 * handles per (step, partition), persisted timers, and the checkpoint that writes all of it —
 * dirty entries, timer changes, step registry and the runtime's checkpoint meta — in ONE batch.
 * After a crash at any moment, reopening shows exactly the last completed checkpoint.
 *
 * For the changelog (changelog.ts): a prepared checkpoint also hands out its state ops as
 * step-neutral changes, and a task's partition can be dropped from the cache, wiped, and
 * restored by applying changes straight to LevelDB.
 */
import { TributaryError, errorMessage } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { KeyValueStore, ValueCodec, WindowStore } from './types.js';
import { LevelBytesStore, writeAll, type BytesOp, type BytesStore } from './level-bytes-store.js';
import { StateStack, populatedScopes } from './store-builder.js';
import type { FlushBatch } from './write-back-cache.js';
import { createStateMetrics, type StateMetrics } from './metrics.js';
import { boundHeapGrowth, splitMemory, type MemoryBudget } from './memory-budget.js';
import { DEFAULT_STATE_CACHE_SIZE } from '../core/size.js';
import { KeyValueStoreHandle, WindowStoreHandle } from './handles.js';
import { DEFAULT_TIMER_PAGE_MS, type PersistentTimers, type PersistentTimerService } from './timer-service.js';
import { TimerServices } from './timer-services.js';
import { StepRegistry, type StepDeclaration } from './step-registry.js';
import { KIND_HEAD, KIND_KV, KIND_SLICE, KIND_TIMER, KIND_TIMER_PAGE, assertScope, decodeStateKey, metaKey, metaRange, scopeRange, type ScopedKind } from './codec/state-key.js';
import { PresenceFilter } from './presence-filter.js';
import { PRESENCE, PresenceRefresh, savePresence, takeSavedPresence, type RefreshResult } from './presence-refresh.js';
import { fromNeutralKey, scopeKindOf } from './changelog-keys.js';
import { CapturedBatches } from './captured-batches.js';

export type { CheckpointMeta, CheckpointResult, PreparedCheckpoint, StateBackendOptions } from './backend-types.js';
import type { CheckpointMeta, CheckpointResult, PreparedCheckpoint, StateBackendOptions } from './backend-types.js';
export type { PersistentTimerService, DueTimer } from './timer-service.js';
export type { StateMetrics } from './metrics.js';
export type { StepDeclaration } from './step-registry.js';
export type { StateChange } from './changelog-keys.js';

const CHECKPOINT = 'checkpoint';
/** Runtime meta names live under this prefix, apart from the registry's and the checkpoint's. */
const RUNTIME_META = 'rt:';
const SCOPED_KINDS: readonly ScopedKind[] = [KIND_HEAD, KIND_SLICE, KIND_KV, KIND_TIMER, KIND_TIMER_PAGE];
/** Deletes per LevelDB batch when wiping a partition. */
const WIPE_BATCH = 10_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class StateBackend {
  private readonly metricsState: StateMetrics = createStateMetrics();
  private readonly stack: StateStack;
  private readonly timerServices: TimerServices;
  private readonly refresher: PresenceRefresh | undefined;
  /** Serializes checkpoints; never rejects. */
  private tail: Promise<unknown> = Promise.resolve();
  private preparedInFlight = false;
  private closed = false;

  private constructor(
    private readonly bottom: BytesStore,
    private readonly registry: StepRegistry,
    private checkpointJson: string | undefined,
    private readonly runtimeMeta: Map<string, string>,
    budget: MemoryBudget,
    maxCachedEntries: number | undefined,
    populated: ReadonlySet<string>,
    timerPageMs: number,
    saved: { filter: PresenceFilter; scopes: string[] } | undefined,
    logger: Logger,
  ) {
    this.timerServices = new TimerServices(bottom, timerPageMs, budget.timerBytes);
    const presence = saved?.filter ?? (budget.filterBytes > 0 ? new PresenceFilter(budget.filterBytes) : undefined);
    this.refresher = presence && new PresenceRefresh(presence, bottom, logger);
    this.stack = new StateStack(bottom, { cacheBytes: budget.cacheBytes, presence, maxCachedEntries, metrics: this.metricsState }, populated, new Set(saved?.scopes));
  }

  static async open(dir: string, opts: StateBackendOptions): Promise<StateBackend> {
    const budget = splitMemory(opts.cacheSize ?? DEFAULT_STATE_CACHE_SIZE);
    // The cache's entries churn at its miss rate: without this V8 lets garbage grow the heap ~3×.
    boundHeapGrowth();
    const bottom = await LevelBytesStore.open(dir, { sync: opts.sync ?? true, blockCacheBytes: budget.blockCacheBytes, writeBufferBytes: budget.writeBufferBytes });
    return StateBackend.openOn(bottom, dir, opts);
  }

  /** Open over a given byte store (the directory name is used in messages only). */
  static async openOn(bottom: BytesStore, dir: string, opts: StateBackendOptions): Promise<StateBackend> {
    const logger = opts.logger ?? silentLogger;
    try {
      if (opts.resetState) {
        await bottom.clear();
        logger.info(`state reset: discarded all state in ${dir}`);
      }
      const meta = new Map<string, Uint8Array>();
      for await (const [k, v] of bottom.entries(metaRange())) {
        const d = decodeStateKey(k);
        if (d.kind === 'meta') meta.set(d.name, v);
      }
      const registry = new StepRegistry(meta, opts.steps, dir, logger);
      const cp = meta.get(CHECKPOINT);
      const runtimeMeta = new Map<string, string>();
      for (const [name, v] of meta) if (name.startsWith(RUNTIME_META)) runtimeMeta.set(name.slice(RUNTIME_META.length), decoder.decode(v));
      const populated = opts.resetState ? new Set<string>() : await populatedScopes(bottom, opts.steps.map((s) => registry.number(s.id)));
      const budget = splitMemory(opts.cacheSize ?? DEFAULT_STATE_CACHE_SIZE);
      if (opts.timerMemoryBytes !== undefined) budget.timerBytes = opts.timerMemoryBytes;
      if (opts.presenceFilterBytes !== undefined) budget.filterBytes = opts.presenceFilterBytes;
      const checkpointJson = cp && decoder.decode(cp);
      const saved = await takeSavedPresence(bottom, meta.get(PRESENCE), checkpointJson, budget.filterBytes);
      return new StateBackend(bottom, registry, checkpointJson, runtimeMeta, budget, opts.maxCachedEntries, populated, opts.timerPageMs ?? DEFAULT_TIMER_PAGE_MS, saved, logger);
    } catch (err) {
      await bottom.close().catch(() => {});
      throw err;
    }
  }

  /** The meta of the last completed checkpoint (a fresh copy), or undefined if there was none. */
  readCheckpoint(): CheckpointMeta | undefined {
    return this.checkpointJson === undefined ? undefined : (JSON.parse(this.checkpointJson) as CheckpointMeta);
  }

  windowStore<H, S>(stepId: string, partition: number, headCodec: ValueCodec<H>, sliceCodec: ValueCodec<S>): WindowStore<H, S> {
    this.assertOpen();
    return new WindowStoreHandle(this.stack.scope('window', this.registry.number(stepId), partition), headCodec, sliceCodec);
  }

  kvStore<V>(stepId: string, partition: number, codec: ValueCodec<V>): KeyValueStore<V> {
    this.assertOpen();
    return new KeyValueStoreHandle(this.stack.scope('kv', this.registry.number(stepId), partition), codec);
  }

  /** Reads a (step, partition)'s persisted timers into memory; call before using timers(). Idempotent. */
  async loadTimers(stepId: string, partition: number): Promise<PersistentTimerService> {
    this.assertOpen();
    return this.timerServices.load(this.timerService(stepId, partition));
  }

  /**
   * The timers of a (step, partition). The handle may be taken before loadTimers() (e.g. when an
   * operator is built), but using it before the load completes throws.
   */
  timers(stepId: string, partition: number): PersistentTimerService {
    this.assertOpen();
    return this.timerService(stepId, partition);
  }

  private timerService(stepId: string, partition: number): PersistentTimers {
    return this.timerServices.get(stepId, this.registry.number(stepId), partition);
  }

  /**
   * Writes every dirty entry, timer change and `meta` in one LevelDB batch. Entries become clean
   * only once the batch is written; if it fails, everything stays dirty and TRIB_STATE_IO
   * propagates. Checkpoints run one at a time, in call order.
   */
  checkpoint(meta: CheckpointMeta): Promise<CheckpointResult> {
    if (this.closed) return Promise.reject(new TributaryError('TRIB_INTERNAL', 'state backend used after close()'));
    const run = this.tail.then(() => this.prepareCheckpoint(meta).write());
    this.tail = run.catch(() => {});
    return run;
  }

  /**
   * An asynchronous snapshot (Flink's model): captures every dirty entry and timer page NOW,
   * synchronously, together with `meta`, and encodes them afterwards, each as it is now
   * (ready(); capture.ts); the returned write() puts them in ONE batch. State may change
   * meanwhile (those changes stay dirty for the next checkpoint), so the caller can keep
   * processing while they are encoded, sinks flush and LevelDB writes. One prepared checkpoint
   * at a time: prepare again only after the previous write() settled (or abort()).
   */
  prepareCheckpoint(meta: CheckpointMeta): PreparedCheckpoint {
    this.assertOpen();
    if (this.preparedInFlight) throw new TributaryError('TRIB_INTERNAL', 'a prepared checkpoint is still in flight');
    const t0 = performance.now();
    let json: string;
    try {
      json = JSON.stringify(meta);
    } catch (err) {
      throw new TributaryError('TRIB_CHECKPOINT', `checkpoint meta is not JSON-able: ${errorMessage(err)}`, { cause: err });
    }
    const batches: FlushBatch[] = [];
    try {
      // Captures only (capture.ts, timer-capture.ts): the encoding comes later, and an encode
      // error then aborts the batches, which leaves everything dirty as it was.
      batches.push(this.stack.cache.collect());
      for (const s of this.timerServices.all()) batches.push(s.collect());
    } catch (err) {
      for (const b of batches) b.abort();
      throw new TributaryError('TRIB_STATE_IO', `checkpoint failed while encoding state: ${errorMessage(err)}`, { cause: err });
    }
    const registryOps = this.registry.pendingOps();
    const captured = new CapturedBatches(batches, [...registryOps, { type: 'put', key: metaKey(CHECKPOINT), value: encoder.encode(json) }]);
    this.preparedInFlight = true;
    let settled = false;
    const settle = (): void => {
      settled = true;
      this.preparedInFlight = false;
    };
    return {
      get entries() {
        return captured.entries;
      },
      get bytes() {
        return captured.bytes;
      },
      // Dirty state filling half the cache: entries become evictable only once written, and
      // records processed meanwhile add more (the loan-risk topology at 1M users peaked 190 MiB
      // higher, 12% slower, with every checkpoint encoded in slices): encode it at once then.
      ready: (sliceEntries?: number) => captured.ready(sliceEntries, () => this.stack.cache.wantsCheckpoint),
      write: async (alongside?: Promise<void>) => {
        alongside?.catch(() => {}); // awaited below; not unhandled if this throws first
        if (settled) throw new TributaryError('TRIB_INTERNAL', 'prepared checkpoint already settled');
        let ops: BytesOp[];
        try {
          ops = captured.all();
        } catch (err) {
          captured.abort();
          settle();
          throw err;
        }
        const { entries, bytes } = captured;
        const [disk, other] = await Promise.allSettled([writeAll(this.bottom, captured.packed, ops), alongside]);
        if (disk.status === 'rejected' || other.status === 'rejected') {
          captured.abort();
          settle();
          if (other.status === 'rejected') throw other.reason;
          const err: unknown = (disk as PromiseRejectedResult).reason;
          throw err instanceof TributaryError ? err : new TributaryError('TRIB_STATE_IO', `checkpoint write failed: ${errorMessage(err)}`, { cause: err });
        }
        captured.commit();
        this.registry.written(registryOps);
        this.checkpointJson = json;
        settle();
        const ms = performance.now() - t0;
        const m = this.metricsState;
        m.checkpoints++;
        m.entriesFlushed += entries;
        m.bytesFlushed += bytes;
        m.lastCheckpointMs = ms;
        this.refresher?.maybeStart();
        return { entries, bytes, ms };
      },
      abort: () => {
        if (settled) return;
        captured.abort();
        settle();
      },
      changes: () => captured.changes((n) => this.registry.stepId(n)),
    };
  }

  /**
   * Forgets everything cached for partition p — clean and dirty entries (their writes are lost)
   * and the timers loaded in memory — so the next access reads LevelDB. Handles taken earlier
   * stay usable; timers need loadTimers() again. Throws TRIB_INTERNAL while a prepared
   * checkpoint is in flight (it may hold p's entries).
   */
  dropPartition(partition: number): void {
    this.assertOpen();
    this.assertNoneInFlight('dropPartition');
    this.stack.dropPartition(partition, false);
    this.timerServices.unload(partition);
  }

  /** Deletes every LevelDB entry of partition p (state and timers, all steps) and drops its cache. */
  async wipePartition(partition: number): Promise<void> {
    this.assertOpen();
    this.assertNoneInFlight('wipePartition');
    this.stack.dropPartition(partition, false);
    this.timerServices.unload(partition);
    let dels: BytesOp[] = [];
    for (const step of this.registry.allNumbers()) {
      assertScope(step, partition);
      for (const kind of SCOPED_KINDS) {
        for await (const [key] of this.bottom.entries(scopeRange(kind, step, partition))) {
          dels.push({ type: 'del', key });
          if (dels.length >= WIPE_BATCH) {
            await this.bottom.write(dels);
            dels = [];
          }
        }
      }
    }
    await this.bottom.write(dels);
    // LevelDB now holds nothing of p: misses need not read it.
    this.stack.dropPartition(partition, true);
  }

  /**
   * Writes restored changes of one step (neutral keys, see changelog-keys.ts) to LevelDB in one
   * batch, under this directory's number for the step, and records that LevelDB holds the
   * scopes written, so later misses read them. The partition must have been dropped (or wiped)
   * first: TRIB_INTERNAL if the cache holds entries of it or its timers are loaded.
   */
  async applyChanges(stepId: string, partition: number, changes: ReadonlyArray<{ key: Uint8Array; value: Uint8Array | null }>): Promise<void> {
    this.assertOpen();
    const step = this.unusedScope('applyChanges', stepId, partition);
    const ops: BytesOp[] = [];
    const touched = new Set<'window' | 'kv'>();
    for (const c of changes) {
      const key = fromNeutralKey(c.key, step, partition);
      if (c.value === null) {
        ops.push({ type: 'del', key });
      } else {
        ops.push({ type: 'put', key, value: c.value });
        const kind = scopeKindOf(key[0]!);
        if (kind) touched.add(kind);
      }
    }
    // A step new to this directory gets its number and fingerprint persisted with its first state.
    const registryOps = this.registry.pendingOps();
    await this.bottom.write(ops.length === 0 ? ops : [...ops, ...registryOps]);
    if (ops.length > 0) this.registry.written(registryOps);
    for (const kind of touched) this.stack.markPopulated(kind, step, partition);
  }

  /**
   * What LevelDB holds now for these neutral keys of one step and partition (null where
   * nothing): the values a changelog must end with to describe this state. The partition must
   * not be in use, as for applyChanges.
   */
  storedValues(stepId: string, partition: number, keys: readonly Uint8Array[]): Array<Uint8Array | null> {
    this.assertOpen();
    const step = this.unusedScope('storedValues', stepId, partition);
    return keys.map((k) => this.bottom.getSync(fromNeutralKey(k, step, partition)) ?? null);
  }

  /** The local number of a step whose partition has nothing cached or loaded (TRIB_INTERNAL otherwise). */
  private unusedScope(what: string, stepId: string, partition: number): number {
    const step = this.registry.number(stepId);
    assertScope(step, partition);
    if (this.stack.cachedKeys('window', step, partition) > 0 || this.stack.cachedKeys('kv', step, partition) > 0 || this.timerServices.inUse(step, partition)) {
      throw new TributaryError('TRIB_INTERNAL', `${what}: state of step '${stepId}' partition ${partition} is in use; dropPartition() first`);
    }
    return step;
  }

  /** Runtime metadata kept outside the checkpoint batch (e.g. the checkpoint the group confirmed). */
  async putMeta(name: string, json: string): Promise<void> {
    this.assertOpen();
    if (name.length === 0) throw new TributaryError('TRIB_INTERNAL', 'putMeta: empty name');
    await this.bottom.write([{ type: 'put', key: metaKey(RUNTIME_META + name), value: encoder.encode(json) }]);
    this.runtimeMeta.set(name, json);
  }

  /** The last putMeta() value of `name` (read at open), or undefined. */
  getMeta(name: string): string | undefined {
    return this.runtimeMeta.get(name);
  }

  private assertNoneInFlight(what: string): void {
    if (this.preparedInFlight) throw new TributaryError('TRIB_INTERNAL', `${what} while a prepared checkpoint is in flight`);
  }

  /**
   * Dirty state fills half the cache's budget: checkpoint now (dirty entries cannot be evicted
   * before), or memory grows with the keys touched per checkpoint interval.
   */
  get wantsCheckpoint(): boolean {
    return this.stack.cache.wantsCheckpoint;
  }

  /** Dirty state alone exceeds the cache's budget: hold input back until a checkpoint is written. */
  get overBudget(): boolean {
    return this.stack.cache.overBudget;
  }

  /** Counters and gauges, as a fresh plain object. */
  metrics(): StateMetrics {
    const m = this.metricsState;
    m.cachedEntries = this.stack.cache.size;
    m.dirtyEntries = this.stack.cache.dirtySize;
    m.cachedBytes = this.stack.cache.bytes;
    m.dirtyBytes = this.stack.cache.dirtyBytes;
    let timers = 0;
    for (const s of this.timerServices.all()) timers += s.size;
    m.timers = timers;
    m.presenceFill = this.stack.cache.presence?.fill ?? 0;
    m.presenceRefreshes = this.refresher?.count ?? 0;
    return { ...m };
  }

  /**
   * Rebuilds the presence filter from the keys LevelDB holds now (presence-refresh.ts; a
   * checkpoint starts one by itself when the filter is full of keys deleted since). Undefined
   * without a filter, or when stopped by close().
   */
  refreshPresence(): Promise<RefreshResult | undefined> {
    this.assertOpen();
    return this.refresher?.refresh() ?? Promise.resolve(undefined);
  }

  /** Waits for a running checkpoint, then closes LevelDB. Dirty entries not checkpointed are discarded. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail;
    await this.refresher?.stop();
    const presence = this.stack.cache.presence;
    if (presence !== undefined && !this.preparedInFlight) await savePresence(this.bottom, presence, this.checkpointJson, this.stack.sealPresence());
    await this.bottom.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new TributaryError('TRIB_INTERNAL', 'state backend used after close()');
  }
}
