/**
 * The dataflow graph of one topology: a node per source and step, edges from the plan's `from`
 * references (main outputs, `.late` side outputs, `dlq`), and per-partition operator instances.
 * Dispatch is a synchronous push: a record goes through every operator down to the sinks before
 * the next one starts, so a checkpoint taken between records is consistent by construction.
 */
import type { PlannedStep, TopologyPlan } from '../topology/plan.js';
import type { Operator, OperatorFactory } from '../operators/types.js';
import { filterOperator } from '../operators/filter.js';
import { mapOperator } from '../operators/map.js';
import { keyByOperator } from '../operators/key-by.js';
import { explodeOperator } from '../operators/explode.js';
import { dedupeOperator } from '../operators/dedupe.js';
import { windowOperator } from '../operators/window-aggregate.js';
import { codeOperator } from '../operators/code.js';
import type { SinkRuntime } from './sink-runtime.js';
import type { StreamRecord } from '../core/record.js';

export interface GraphNode {
  readonly id: string;
  /** Undefined for source nodes (they only fan out). */
  readonly step?: PlannedStep;
  readonly factory?: OperatorFactory;
  readonly stateful: boolean;
  /** Downstream step nodes of the main output. */
  readonly children: number[];
  readonly sinks: SinkRuntime[];
  /** Downstream of `<id>.late`. */
  readonly lateChildren: number[];
  readonly lateSinks: SinkRuntime[];
  /** One operator instance per task partition. */
  instances: Operator[];
  /** Kafka mode, a keyBy that changes the key: its output goes through its repartition topic. */
  repartition?: RepartitionOutput;
}

/** Where a repartitioning keyBy's records go instead of its children (runtime/repartition.ts). */
export interface RepartitionOutput {
  add(record: StreamRecord, toPartition: number, fromPartition: number): void;
}

export function operatorFactory(step: PlannedStep, partitions: number): OperatorFactory {
  switch (step.kind) {
    case 'filter': return filterOperator(step);
    case 'map': return mapOperator(step);
    case 'keyBy': return keyByOperator(step, partitions);
    case 'explode': return explodeOperator(step);
    case 'dedupe': return dedupeOperator(step);
    case 'window': return windowOperator(step);
    case 'code': return codeOperator(step);
  }
}

export function isStateful(step: PlannedStep): step is Extract<PlannedStep, { fingerprint: string }> {
  return step.kind === 'window' || step.kind === 'dedupe' || step.kind === 'code';
}

export interface Graph {
  nodes: GraphNode[];
  byId: Map<string, number>;
  dlqSinks: SinkRuntime[];
}

export function buildGraph(plan: TopologyPlan, sinks: ReadonlyMap<string, SinkRuntime>, partitions: number): Graph {
  const nodes: GraphNode[] = [];
  const byId = new Map<string, number>();
  const add = (node: GraphNode): void => {
    byId.set(node.id, nodes.length);
    nodes.push(node);
  };
  const empty = () => ({ children: [], sinks: [], lateChildren: [], lateSinks: [], instances: [] });
  for (const s of plan.sources) add({ id: s.id, stateful: false, ...empty() });
  for (const step of plan.steps) {
    add({ id: step.id, step, factory: operatorFactory(step, partitions), stateful: isStateful(step), ...empty() });
  }
  const resolve = (from: string): { node: GraphNode; late: boolean } => {
    const late = from.endsWith('.late') && !byId.has(from);
    const id = late ? from.slice(0, -'.late'.length) : from;
    const index = byId.get(id);
    if (index === undefined) throw new Error(`internal: unresolved reference '${from}' survived validation`);
    return { node: nodes[index]!, late };
  };
  for (const step of plan.steps) {
    const { node, late } = resolve(step.from);
    (late ? node.lateChildren : node.children).push(byId.get(step.id)!);
  }
  const dlqSinks: SinkRuntime[] = [];
  for (const planned of plan.sinks) {
    const sink = sinks.get(planned.id);
    if (!sink) throw new Error(`internal: sink '${planned.id}' was not created`);
    if (planned.from === 'dlq') {
      dlqSinks.push(sink);
      continue;
    }
    const { node, late } = resolve(planned.from);
    (late ? node.lateSinks : node.sinks).push(sink);
  }
  return { nodes, byId, dlqSinks };
}
