/**
 * Which keyBy steps need a repartition topic: decided once, here, for the plan that `tributary
 * plan` prints and the runtime executes. A keyBy whose input is already partitioned by exactly
 * its key expression keeps records in their task (Kafka Streams does the same for a stream
 * already keyed as wanted); any other keyBy repartitions.
 *
 * How an input is partitioned, step by step along `from`:
 *   source       its declared `partitionKey` (Kafka: the expression its producers keyed by), or unknown;
 *   a step that sets the key (keyBy)   its key expression (after repartitioning, or because it was already so);
 *   any other step   what its module's partitionedBy() says (filter, dedupe, window: their input's;
 *                map: its input's when the map keeps that field), unknown when it says nothing.
 */
import type { PlannedSource, PlannedStep } from './plan.js';

/** The steps with `repartition` set on every step that sets the key; `from` may name a side output `<step>.late` (same partitioning as the step's input). */
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
    if (step.stepModule.setsKey) {
      partitionedBy.set(step.id, step.keyedBy);
      return { ...step, repartition: input !== step.keyedBy };
    }
    partitionedBy.set(step.id, step.stepModule.partitionedBy?.(step, input));
    return step;
  });
}
