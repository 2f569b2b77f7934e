/**
 * The state backend's public shapes (backend.ts): the checkpoint meta the runtime stores, a
 * prepared checkpoint and its result, and the options a backend opens with.
 */
import type { Logger } from '../core/logger.js';
import type { StateChange } from './changelog-keys.js';
import type { StepDeclaration } from './step-registry.js';

/** What the runtime stores with each checkpoint (source positions, watermarks ...). JSON-able. */
export type CheckpointMeta = { version: 1; at: number; [k: string]: unknown };

export interface CheckpointResult {
  /** Ops in the batch (state entries, timer changes, meta). */
  entries: number;
  bytes: number;
  ms: number;
}

/**
 * A snapshot taken synchronously by prepareCheckpoint(), written later in one batch. The cache's
 * dirty entries are captured at that instant and encoded afterwards (capture.ts): by ready(), a
 * slice at a time while processing goes on, or all at once by entries, bytes, write() or
 * changes(), whichever needs them first; either way each as it was at the instant.
 */
export interface PreparedCheckpoint {
  readonly entries: number;
  readonly bytes: number;
  /**
   * Encodes the captured state a slice of time at a time (at most `sliceEntries` entries per
   * slice: tests), letting the event loop turn between slices; rejects with an encode failure
   * (then abort()).
   */
  ready(sliceEntries?: number): Promise<void>;
  /**
   * Write the snapshot in ONE LevelDB batch; entries become clean unless changed since.
   * `alongside` (the changelog write of the same snapshot) runs meanwhile: the entries become
   * clean only when both succeed; when either fails, everything stays dirty (as after abort())
   * and the failure is thrown (`alongside`'s first) — LevelDB may then hold this snapshot's
   * meta, which nothing counts until the caller commits it (Kafka mode: the group commit).
   */
  write(alongside?: Promise<void>): Promise<CheckpointResult>;
  /** Give the snapshot up (e.g. a sink could not flush): everything stays dirty. */
  abort(): void;
  /**
   * The snapshot's state and timer ops as step-neutral changes (registry/meta ops excluded),
   * grouped per partition, ordered by (step id, key). Built from the batch's own ops on first
   * call; the value bytes are shared with the batch: do not mutate them.
   */
  changes(): Map<number, StateChange[]>;
}

export interface StateBackendOptions {
  /** Every step that keeps state, with the fingerprint of its definition. */
  steps: readonly StepDeclaration[];
  /** Wipe all state, timers and checkpoint meta first. */
  resetState?: boolean;
  /** fsync each checkpoint batch (default true). */
  sync?: boolean;
  /**
   * Bytes of memory for state (default 256MB): split between the write-back cache of decoded
   * entries, LevelDB's block cache and its write buffers (memory-budget.ts).
   */
  cacheSize?: number;
  /** A second bound on the cache, in clean entries (tests force eviction with it). Default none. */
  maxCachedEntries?: number;
  /** Event time one page of timers covers (timer-service.ts). Default 1 minute. */
  timerPageMs?: number;
  /** Bytes of clean timer pages kept in memory (default: cacheSize's share, memory-budget.ts); 0 re-reads them. */
  timerMemoryBytes?: number;
  /** Bytes of the presence filter (default: cacheSize's share, memory-budget.ts); 0: none, every miss after an eviction reads LevelDB. */
  presenceFilterBytes?: number;
  logger?: Logger;
}
