/**
 * Typed state handles that operators use. All reads are synchronous: a write-back cache in front
 * of LevelDB (classic-level's getSync on a miss), so operators never await on the hot path.
 * Writes go to the cache and are marked dirty; a checkpoint writes every dirty entry of every
 * store together with source positions in ONE LevelDB batch.
 *
 * Values handed out by get* may be mutated in place by the caller; call put* afterwards so the
 * entry is marked dirty (the cache keeps the object; it is encoded once, at checkpoint).
 */

/** Compact binary codec for one kind of stored value (no JSON on the hot path). */
export interface ValueCodec<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
  /**
   * Heap bytes of a decoded value, for the cache's byte budget; without it the cache walks the
   * value (state/heap-size.ts). Give it when a value holds what a walk cannot see or overcounts.
   */
  heapSize?(value: T): number;
}

/** A key-value store scoped to one (step, partition). Keys are the canonical key bytes. */
export interface KeyValueStore<V> {
  get(key: Uint8Array): V | undefined;
  put(key: Uint8Array, value: V): void;
  delete(key: Uint8Array): void;
}

/**
 * Window state scoped to one (step, partition): per key one head (running totals, slice index,
 * timers it owns) and sparse slices addressed by slice start (epoch ms).
 * Layout on disk: see state/codec/state-key.ts.
 */
export interface WindowStore<H, S> {
  getHead(key: Uint8Array): H | undefined;
  putHead(key: Uint8Array, head: H): void;
  getSlice(key: Uint8Array, start: number): S | undefined;
  putSlice(key: Uint8Array, start: number, slice: S): void;
  deleteSlice(key: Uint8Array, start: number): void;
  /** Delete the head (slices must be deleted individually by the caller, who knows their starts). */
  deleteHead(key: Uint8Array): void;
}

/**
 * Event-time timers scoped to one (step, partition). A timer is (time, key); registering the same
 * pair twice is one timer. The runtime fires due timers in time order when the watermark reaches
 * them, calling the operator's onTimer(key, time). Timers are state: checkpointed and restored.
 */
export interface TimerService {
  /**
   * `tagged`: a promise the operator makes about the key's state while this is its only timer
   * in the page, handed back when it fires (DueTimer.tagged), so it can act without reading the
   * state (a rolling window's last slice leaving: the key empties, whatever its head holds).
   * Any other register of the key into the same page (the same time included) clears the tag.
   */
  register(time: number, key: Uint8Array, tagged?: boolean): void;
  delete(time: number, key: Uint8Array): void;
}
