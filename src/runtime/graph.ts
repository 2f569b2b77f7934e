/**
 * The dataflow graph of one topology: a node per source and step, edges from the plan's `from`
 * references (main outputs, `.late` side outputs, `dlq`), and per-partition operator instances.
 * Dispatch is a synchronous push: a record goes through every operator down to the sinks before
 * the next one starts, so a checkpoint taken between records is consistent by construction.
 */
import type { PlannedStep, TopologyPlan } from '../topology/plan.js';
import type { Operator } from '../operators/types.js';
import { isStateful, operatorFactory, type InstanceFactory } from '../operators/step-module.js';
import type { StateScope } from '../operators/stores.js';
import type { StateBackend } from '../state/backend.js';
import type { SinkRuntime } from './sink-runtime.js';
import type { StreamRecord } from '../core/record.js';
import { subTopologies } from '../topology/describe.js';
import type { SubTopologyInfo } from './watermarks.js';

export interface GraphNode {
  readonly id: string;
  /** Undefined for source nodes (they only fan out). */
  readonly step?: PlannedStep;
  /** Builds the step's operator instance of one task partition (operators/step-module.ts). */
  readonly factory?: InstanceFactory;
  readonly stateful: boolean;
  /** The sub-topology the node belongs to (a task is sub-topology × partition). */
  subTopology: number;
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
  /** `watermark`: the upstream task's, as of this record (readers apply it before the record). */
  add(record: StreamRecord, toPartition: number, fromPartition: number, watermark: number): void;
}

export { isStateful };

/** The state of one (step, partition) in the backend: what a step's declared stores open in. */
export function stateScope(state: StateBackend, stepId: string, partition: number): StateScope {
  return {
    stepId,
    kvStore: (codec) => state.kvStore(stepId, partition, codec),
    windowStore: (head, slice) => state.windowStore(stepId, partition, head, slice),
    timers: () => state.loadTimers(stepId, partition),
  };
}

export interface SubTopologyNodes extends SubTopologyInfo {
  /** The source it reads, or the keyBy node whose repartitioned output it reads. */
  readonly source?: string;
  readonly keyBy?: number;
  /** Stateful nodes, upstream first (their timers fire in this order). */
  readonly stateful: readonly number[];
}

export interface Graph {
  nodes: GraphNode[];
  byId: Map<string, number>;
  dlqSinks: SinkRuntime[];
  subTopologies: SubTopologyNodes[];
}

export function buildGraph(plan: TopologyPlan, sinks: ReadonlyMap<string, SinkRuntime>, partitions: number): Graph {
  const nodes: GraphNode[] = [];
  const byId = new Map<string, number>();
  const add = (node: GraphNode): void => {
    byId.set(node.id, nodes.length);
    nodes.push(node);
  };
  const empty = () => ({ children: [], sinks: [], lateChildren: [], lateSinks: [], instances: [], subTopology: -1 });
  for (const s of plan.sources) add({ id: s.id, stateful: false, ...empty() });
  for (const step of plan.steps) {
    add({ id: step.id, step, factory: operatorFactory(step, { partitions }), stateful: isStateful(step), ...empty() });
  }
  const subs = subTopologies(plan);
  for (const sub of subs) {
    for (const id of [...sub.inputs, ...sub.steps]) {
      const index = byId.get(id);
      if (index !== undefined) nodes[index]!.subTopology = sub.index;
    }
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
  const subTopologyNodes = subs.map((sub): SubTopologyNodes => {
    const keyBy = sub.repartitionOf === undefined ? undefined : byId.get(sub.repartitionOf)!;
    return {
      index: sub.index,
      ...(keyBy === undefined ? { source: sub.inputs[0] } : { keyBy, upstream: nodes[keyBy]!.subTopology }),
      downstream: subs.filter((d) => d.repartitionOf !== undefined && sub.steps.includes(d.repartitionOf)).map((d) => d.index),
      stateful: nodes.flatMap((n, i) => (n.stateful && n.subTopology === sub.index ? [i] : [])),
    };
  });
  return { nodes, byId, dlqSinks, subTopologies: subTopologyNodes };
}
