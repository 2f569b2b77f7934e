/**
 * Which keyBy steps need a repartition topic: decided once, here, for the plan that `tributary
 * plan` prints and the runtime executes. A keyBy whose input is already partitioned by exactly
 * its key expression keeps records in their task (Kafka Streams does the same for a stream
 * already keyed as wanted); any other keyBy repartitions.
 *
 * How an input is partitioned, step by step along `from`:
 *   source       its declared `partitionKey` (Kafka: the expression its producers keyed by), or unknown;
 *   keyBy        its key expression (after repartitioning, or because it was already so);
 *   filter, dedupe, window   their input's (rows and keys are kept, or fields derive from them);
 *   map          its input's, when the partition key is a plain field the map neither sets,
 *                renames nor drops; otherwise unknown;
 *   explode, code  unknown (rows are rebuilt).
 */
import type { PlannedSource, PlannedStep } from './plan.js';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function mapKeeps(step: Extract<PlannedStep, { kind: 'map' }>, key: string): boolean {
  if (!IDENTIFIER.test(key)) return false;
  if (step.set.some((s) => s.field === key)) return false;
  if (step.rename.some((r) => r.from === key || r.to === key)) return false;
  return !step.drop.includes(key);
}

/** The steps with `repartition` set on every keyBy; `from` may name a side output `<step>.late` (same partitioning as the step's input). */
export function decideRepartitions(sources: readonly PlannedSource[], steps: readonly PlannedStep[]): PlannedStep[] {
  const partitionedBy = new Map<string, string | undefined>();
  for (const s of sources) partitionedBy.set(s.id, s.partitionKey);
  const inputOf = (from: string): string | undefined => {
    if (partitionedBy.has(from)) return partitionedBy.get(from);
    return from.endsWith('.late') ? partitionedBy.get(from.slice(0, -'.late'.length)) : undefined;
  };
  // Steps are in topological order (compile plans them in wiring order).
  return steps.map((step) => {
    const input = inputOf(step.from);
    switch (step.kind) {
      case 'keyBy': {
        const repartition = input !== step.keySource;
        partitionedBy.set(step.id, step.keySource);
        return { ...step, repartition };
      }
      case 'filter':
      case 'dedupe':
      case 'window':
        partitionedBy.set(step.id, input);
        return step;
      case 'map':
        partitionedBy.set(step.id, input !== undefined && mapKeeps(step, input) ? input : undefined);
        return step;
      default:
        partitionedBy.set(step.id, undefined);
        return step;
    }
  });
}
