/** A plan for people: readable text and printable JSON (configs shown as written, never interpolated values). */
import { formatDuration } from '../core/duration.js';
import { inlineValue as inline } from '../core/inline.js';
import type { PlannedStep, TopologyPlan } from './plan.js';
import { describeFormat, displayFormat } from './source-format.js';

export interface SubTopology {
  index: number;
  /** Source ids and repartition topics this sub-topology reads. */
  inputs: string[];
  /** The keyBy step whose repartition topic this sub-topology reads (undefined: it reads sources). */
  repartitionOf?: string;
  /** Step ids in plan order. */
  steps: string[];
  sinks: string[];
}

export function repartitionTopic(plan: TopologyPlan, keyByStep: string): string {
  return `${plan.name}.${keyByStep}.repartition`;
}

/** Split the DAG at repartitioning keyBy steps: such a keyBy writes to its repartition topic, and its readers start a new sub-topology. */
export function subTopologies(plan: TopologyPlan): SubTopology[] {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(x, r);
    return r;
  };
  const union = (a: string, b: string): void => {
    parent.set(find(a), find(b));
  };
  const stepById = new Map(plan.steps.map((st) => [st.id, st]));
  const repartitions = new Set(plan.steps.filter((st) => st.repartition === true).map((st) => st.id));
  const base = (from: string): string => (from.endsWith('.late') && !stepById.has(from) ? from.slice(0, -5) : from);
  for (const src of plan.sources) parent.set(src.id, src.id);
  for (const st of plan.steps) parent.set(st.id, st.id);
  // Readers of one repartition topic share it as their input, hence one sub-topology.
  const topicOf = new Map<string, string>();
  const keyByOf = new Map<string, string>();
  for (const st of plan.steps) {
    const input = base(st.from);
    if (repartitions.has(input)) {
      const topic = repartitionTopic(plan, input);
      if (!parent.has(`#${topic}`)) parent.set(`#${topic}`, `#${topic}`);
      topicOf.set(st.id, topic);
      keyByOf.set(st.id, input);
      union(st.id, `#${topic}`);
    } else if (parent.has(input)) union(st.id, input);
  }
  const groups = new Map<string, SubTopology>();
  const groupOf = (id: string): SubTopology => {
    const root = find(id);
    let g = groups.get(root);
    if (!g) {
      g = { index: groups.size, inputs: [], steps: [], sinks: [] };
      groups.set(root, g);
    }
    return g;
  };
  for (const src of plan.sources) groupOf(src.id).inputs.push(src.id);
  for (const st of plan.steps) {
    const g = groupOf(st.id);
    g.steps.push(st.id);
    const topic = topicOf.get(st.id);
    if (topic !== undefined && !g.inputs.includes(topic)) g.inputs.push(topic);
    const keyBy = keyByOf.get(st.id);
    if (keyBy !== undefined) g.repartitionOf = keyBy;
  }
  for (const sink of plan.sinks) if (sink.from !== 'dlq' && parent.has(base(sink.from))) groupOf(base(sink.from)).sinks.push(sink.id);
  return [...groups.values()];
}

/** The plan as text for `tributary plan`. */
export function describePlan(plan: TopologyPlan): string {
  const out: string[] = [];
  out.push(`topology ${plan.name} (${plan.apiVersion})`);
  out.push(`file: ${plan.file}`);
  out.push(`checkpoint every ${formatDuration(plan.checkpointIntervalMs)}`);
  out.push('', 'sources:');
  for (const src of plan.sources) {
    const et = src.eventTime;
    const time = `${et.field ? `event time ${et.field}` : 'record time'}, max out-of-orderness ${formatDuration(et.maxOutOfOrdernessMs)}, idle after ${formatDuration(et.idleTimeoutMs)}`;
    out.push(`  ${src.id}: ${src.connector} ${inline(src.displayConfig ?? src.config)}`);
    out.push(`    format ${describeFormat(src.format)}; ${time}`);
  }
  out.push('', 'steps (in order):');
  const width = Math.max(0, ...plan.steps.map((st) => st.id.length));
  plan.steps.forEach((st, i) => {
    const key = st.keyedBy !== undefined ? `, key ${st.keyedBy}` : '';
    out.push(`  ${String(i + 1).padStart(2)}. ${st.id.padEnd(width)}  ${st.kind} from ${st.from}${key}`);
    for (const line of st.stepModule.describe(st)) out.push(`        ${line}`);
    if (st.repartition !== undefined) {
      out.push(`        ${st.repartition ? `through ${repartitionTopic(plan, st.id)}` : `no repartition: the input is already partitioned by ${st.keyedBy}`}`);
    }
    if (st.fingerprint !== undefined) out.push(`        state fingerprint ${st.fingerprint}`);
  });
  out.push('', 'sub-topologies (split at repartitioning keyBy steps):');
  for (const sub of subTopologies(plan)) {
    out.push(`  #${sub.index} reads ${sub.inputs.join(', ') || '(nothing)'}`);
    out.push(`     steps: ${sub.steps.join(', ') || '(none)'}${sub.sinks.length ? `; sinks: ${sub.sinks.join(', ')}` : ''}`);
  }
  out.push('', 'sinks:');
  for (const sink of plan.sinks) out.push(`  ${sink.id}: ${sink.connector} ${inline(sink.displayConfig ?? sink.config)} from ${sink.from}`);
  return `${out.join('\n')}\n`;
}

/** The plan as JSON-safe data: expressions as their source, configs as written. */
export function planToJson(plan: TopologyPlan): Record<string, unknown> {
  const step = (st: PlannedStep): Record<string, unknown> => ({
    id: st.id, kind: st.kind, from: st.from, ...(st.keyedBy !== undefined ? { keyedBy: st.keyedBy } : {}), location: st.location,
    ...st.stepModule.toJson(st),
    ...(st.repartition !== undefined ? { repartition: st.repartition } : {}),
    ...(st.fingerprint !== undefined ? { fingerprint: st.fingerprint } : {}),
  });
  return {
    apiVersion: plan.apiVersion,
    name: plan.name,
    file: plan.file,
    checkpointIntervalMs: plan.checkpointIntervalMs,
    sources: plan.sources.map(({ config, displayConfig, ...rest }) => ({ ...rest, format: displayFormat(rest.format), config: displayConfig ?? config })),
    steps: plan.steps.map(step),
    subTopologies: subTopologies(plan),
    sinks: plan.sinks.map(({ config, displayConfig, ...rest }) => ({ ...rest, config: displayConfig ?? config })),
  };
}
