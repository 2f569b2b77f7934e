/**
 * Step-neutral state keys: the changelog's record keys. Step numbers are assigned per LevelDB
 * directory (step-registry.ts), so two workers may number one step differently; the changelog
 * names the step by its topic instead and drops the number from the key:
 *
 *   LevelDB key    [kind u8][step u16][partition u16][rest ...]
 *   neutral key    [kind u8][partition u16][rest ...]
 *
 * The neutral key is still the full identity of a state entry within its step, so a compacted
 * changelog keeps exactly the latest value of each entry. Pure: no I/O.
 */
import { TributaryError } from '../core/errors.js';
import type { BytesOp } from './level-bytes-store.js';
import { KIND_HEAD, KIND_KV, KIND_SLICE, KIND_TIMER, KIND_TIMER_PAGE } from './codec/state-key.js';

/** One state entry's change, as the changelog carries it. */
export interface StateChange {
  stepId: string;
  partition: number;
  /** Step-neutral: the LevelDB key with the 2 step bytes removed. */
  key: Uint8Array;
  /** null = delete (a tombstone in the changelog). */
  value: Uint8Array | null;
}

const isScopedKind = (k: number | undefined): boolean => k === KIND_HEAD || k === KIND_SLICE || k === KIND_KV || k === KIND_TIMER || k === KIND_TIMER_PAGE;

/** Whether a LevelDB key is a state or timer entry (not meta). */
export function isStateKey(key: Uint8Array): boolean {
  return key.length >= 5 && isScopedKind(key[0]);
}

export function toNeutralKey(key: Uint8Array): Uint8Array {
  const n = key.length;
  const out = new Uint8Array(n - 2);
  out[0] = key[0]!;
  // A byte loop: keys are short, and subarray() + set() cost a view object per key (a
  // checkpoint converts every dirty entry's key).
  for (let i = 3; i < n; i++) out[i - 2] = key[i]!;
  return out;
}

/**
 * The LevelDB key of a neutral key under local step number `step`. Throws TRIB_STATE_IO for a
 * key that is no state key or belongs to another partition (a changelog written for a
 * different partitioning, or not by Tributary).
 */
export function fromNeutralKey(neutral: Uint8Array, step: number, partition: number): Uint8Array {
  if (neutral.length < 3 || !isScopedKind(neutral[0])) {
    throw new TributaryError('TRIB_STATE_IO', `changelog record key is not a state key: ${hex(neutral)}`);
  }
  const p = (neutral[1]! << 8) | neutral[2]!;
  if (p !== partition) {
    throw new TributaryError('TRIB_STATE_IO', `changelog record of partition ${p} found while restoring partition ${partition}: ${hex(neutral)}`);
  }
  const out = new Uint8Array(neutral.length + 2);
  out[0] = neutral[0]!;
  out[1] = step >>> 8;
  out[2] = step & 0xff;
  out.set(neutral.subarray(1), 3);
  return out;
}

/** The window/kv scope a neutral or LevelDB key's kind belongs to (timers have none). */
export function scopeKindOf(kind: number): 'window' | 'kv' | undefined {
  if (kind === KIND_HEAD || kind === KIND_SLICE) return 'window';
  if (kind === KIND_KV) return 'kv';
  return undefined;
}

/**
 * The state and timer ops among `ops` as changes, grouped per partition and, within a
 * partition, per step (steps in id order; a step's changes in the batch's order, each key at
 * most once: a compacted changelog needs no other order). Meta ops are left out. Values are
 * shared with the ops, not copied.
 */
export function changesOf(ops: readonly BytesOp[], stepIdOf: (step: number) => string | undefined): Map<number, StateChange[]> {
  const ids = new Map<number, string>();
  // One bucket per (partition, step): no sort of the (many) changes, only of the (few) steps.
  const buckets = new Map<number, Map<string, StateChange[]>>();
  let lastBucket: StateChange[] | undefined;
  let lastScope = -1;
  for (const op of ops) {
    const k = op.key;
    if (!isStateKey(k)) continue;
    const step = (k[1]! << 8) | k[2]!;
    const partition = (k[3]! << 8) | k[4]!;
    const scope = step * 65_536 + partition;
    let stepId = ids.get(step);
    if (stepId === undefined) {
      stepId = stepIdOf(step);
      if (stepId === undefined) throw new TributaryError('TRIB_INTERNAL', `state of step number ${step} has no step id`);
      ids.set(step, stepId);
    }
    if (scope !== lastScope || lastBucket === undefined) {
      let steps = buckets.get(partition);
      if (!steps) buckets.set(partition, (steps = new Map()));
      lastBucket = steps.get(stepId);
      if (!lastBucket) steps.set(stepId, (lastBucket = []));
      lastScope = scope;
    }
    lastBucket.push({ stepId, partition, key: toNeutralKey(k), value: op.type === 'put' ? op.value : null });
  }
  const out = new Map<number, StateChange[]>();
  for (const [partition, steps] of buckets) {
    const names = [...steps.keys()].sort();
    if (names.length === 1) {
      out.set(partition, steps.get(names[0]!)!);
      continue;
    }
    const list: StateChange[] = [];
    for (const name of names) for (const c of steps.get(name)!) list.push(c);
    out.set(partition, list);
  }
  return out;
}

function hex(b: Uint8Array): string {
  const s = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
  return s.length > 64 ? `${s.slice(0, 64)}...` : s;
}
