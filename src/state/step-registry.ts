/**
 * Which topology step owns which u16 in state keys, and the fingerprint of the definition that
 * wrote its state. Both live in meta entries (step:<id>, fp:<id>); entries for new steps are
 * written with the next checkpoint, in the same batch as the state they describe, so a crash
 * before it leaves no trace and a step never has state without a fingerprint.
 */
import { TributaryError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { BytesOp } from './level-bytes-store.js';
import { metaKey } from './codec/state-key.js';

export const STATE_FORMAT = 1;

export interface StepDeclaration {
  id: string;
  fingerprint: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class StepRegistry {
  private readonly numbers = new Map<string, number>();
  private pending: BytesOp[] = [];

  /**
   * @param meta every meta entry, by name
   * @throws TRIB_STATE_INCOMPATIBLE naming each step whose stored fingerprint differs
   */
  constructor(meta: ReadonlyMap<string, Uint8Array>, steps: readonly StepDeclaration[], dir: string, logger: Logger) {
    const format = meta.get('format');
    if (format && decoder.decode(format) !== String(STATE_FORMAT)) {
      throw new TributaryError(
        'TRIB_STATE_INCOMPATIBLE',
        `state in ${dir} has format ${decoder.decode(format)}, this version reads format ${STATE_FORMAT}; run with --reset-state to discard it`,
      );
    }
    if (!format) this.pending.push(put('format', encoder.encode(String(STATE_FORMAT))));

    const stored = new Map<string, string>();
    let next = 0;
    for (const [name, value] of meta) {
      if (name.startsWith('step:')) {
        const n = (value[0]! << 8) | value[1]!;
        this.numbers.set(name.slice(5), n);
        next = Math.max(next, n + 1);
      } else if (name.startsWith('fp:')) {
        stored.set(name.slice(3), decoder.decode(value));
      }
    }

    const declared = new Set<string>();
    const mismatches: string[] = [];
    for (const { id, fingerprint } of steps) {
      if (declared.has(id)) throw new TributaryError('TRIB_INTERNAL', `step '${id}' declared twice to the state backend`);
      declared.add(id);
      const old = stored.get(id);
      if (old !== undefined && old !== fingerprint) {
        mismatches.push(`step '${id}': stored fingerprint ${old}, now ${fingerprint}`);
        continue;
      }
      if (old === undefined) this.pending.push(put(`fp:${id}`, encoder.encode(fingerprint)));
      if (!this.numbers.has(id)) {
        if (next > 0xffff) throw new TributaryError('TRIB_STATE_IO', `state in ${dir} has run out of step numbers (65536 steps)`);
        this.numbers.set(id, next);
        this.pending.push(put(`step:${id}`, Uint8Array.of(next >>> 8, next & 0xff)));
        next++;
      }
    }
    if (mismatches.length > 0) {
      const names = mismatches.length === 1 ? 'its definition' : 'their definitions';
      throw new TributaryError(
        'TRIB_STATE_INCOMPATIBLE',
        `state in ${dir} was written by a different definition of ${mismatches.length === 1 ? 'a step' : 'these steps'}: ` +
          `${names} changed incompatibly since the state was written.\n  ${mismatches.join('\n  ')}\n` +
          `Run with --reset-state to discard all state in ${dir} and start clean, or give the changed step a new id.`,
      );
    }
    for (const id of stored.keys()) {
      if (!declared.has(id)) {
        logger.warn(`state in ${dir} holds step '${id}', which is not in the topology; its state is kept but unused`, { step: id });
      }
    }
  }

  /** The u16 of a declared step. */
  number(stepId: string): number {
    const n = this.numbers.get(stepId);
    if (n === undefined) {
      throw new TributaryError('TRIB_INTERNAL', `step '${stepId}' has no state: it was not declared when the state backend was opened`);
    }
    return n;
  }

  /** The step id owning u16 `n` (declared or only stored), or undefined. */
  stepId(n: number): string | undefined {
    for (const [id, m] of this.numbers) if (m === n) return id;
    return undefined;
  }

  /** Every step number the registry knows (declared and stored-only). */
  allNumbers(): number[] {
    return [...new Set(this.numbers.values())];
  }

  /** Registry entries not yet written; the checkpoint that writes them calls written(). */
  pendingOps(): readonly BytesOp[] {
    return this.pending;
  }

  written(ops: readonly BytesOp[]): void {
    this.pending = this.pending.filter((op) => !ops.includes(op));
  }
}

function put(name: string, value: Uint8Array): BytesOp {
  return { type: 'put', key: metaKey(name), value };
}
