/**
 * Topology text → TopologyPlan. Pure: no I/O. Every problem found is collected and thrown at
 * once as TopologyErrors, sorted by position.
 */
import { dirname, resolve } from 'node:path';
import { TopologyError, TopologyErrors } from '../core/errors.js';
import type { ConnectorCatalog } from '../core/catalog.js';
import { findEntry, type ConfigNode, type MapNode, type Position } from '../core/config-node.js';
import type { Diagnostics } from './expressions.js';
import { API_VERSION, documentSpec, type KafkaSectionConfig, sinkSpec, sourceSpec, stepSpec, type EventTimeConfig, type SourceFormatConfig, type StepCatalog } from './format.js';
import type { Env } from './interpolate.js';
import { decideRepartitions } from './partitioning.js';
import { joinPath } from '../core/names.js';
import type { PlannedSink, PlannedSource, PlannedStep, TopologyPlan } from './plan.js';
import { planSinkFormat, planSourceFormat, type FormatCheck } from './source-format.js';
import { s, validateSpec, type ValidationContext } from '../core/spec.js';
import { buildStep } from './steps.js';
import { checkIds, resolveInput, wire, type StepRef } from './wiring.js';
import { parseYaml } from './yaml-tree.js';

export interface CompileOptions {
  catalog: ConnectorCatalog;
  /** The step kinds a topology may use: `stepRegistry` of operators/registry.ts, or a test's own list. */
  steps: StepCatalog;
  /** Variables for ${VAR} interpolation (usually process.env). Default: none. */
  env?: Env;
  /** Where relative `code:` and schema paths start (default: the topology file's folder). */
  baseDir?: string;
  /**
   * Why a source's or sink's format cannot be built (missing/invalid .avsc ...), reported at the field's
   * line. Compile itself reads no files: loadTopology passes the formats' check.
   */
  checkFormat?: FormatCheck;
}

interface Shell {
  metadata: { name: string };
  spec: { checkpoint: { interval: number }; state: { distinctExactLimit: number; cacheSize: number }; kafka?: KafkaSectionConfig };
}

const shellSpec = documentSpec({ source: s.any(), step: s.any(), sink: s.any() });

export function compileTopology(text: string, file: string, opts: CompileOptions): TopologyPlan {
  const parsed = parseYaml(text, file, opts.env ?? {});
  const errors = parsed.errors;
  if (errors.some((e) => e.code === 'TRIB_TOPOLOGY_PARSE')) throw new TopologyErrors(errors);
  const ctx: ValidationContext = { file, errors, interpolated: new Map() };
  const root = parsed.root;
  if (!root || root.kind !== 'map') {
    const pos = root?.pos ?? { line: 1, col: 1 };
    errors.push(new TopologyError('TRIB_TOPOLOGY_INVALID', { file, ...pos, path: '' }, `expected a topology document: apiVersion: ${API_VERSION}, kind: Topology, metadata, spec`));
    throw new TopologyErrors(errors);
  }
  // The shell (everything but sources, steps and sinks) is validated whole; the three lists item
  // by item, so one broken step does not hide the problems of the others.
  const shell = validateSpec(shellSpec, root, ctx) as Shell | undefined;
  const specNode = mapAt(root, 'spec');
  const sourcesNode = specNode && mapAt(specNode, 'sources');
  const sinksNode = specNode && mapAt(specNode, 'sinks');
  const pipelineEntry = specNode && findEntry(specNode, 'pipeline');
  const pipeline = pipelineEntry?.value.kind === 'seq' ? pipelineEntry.value.items : [];

  const sources = (sourcesNode?.entries ?? []).map((e) => {
    const path = joinPath('spec.sources', e.key);
    const value = validateSpec(sourceSpec(opts.catalog), e.value, ctx, path, e.keyPos) as Record<string, unknown> | undefined;
    return { id: e.key, idPos: e.keyPos, path, node: e.value, value };
  });
  const pipelineSpec = stepSpec(opts.steps);
  const steps = pipeline.map((node, index) => {
    const path = `spec.pipeline[${index}]`;
    const config = validateSpec(pipelineSpec, node, ctx, path) as StepConfig | undefined;
    const module = config && opts.steps.find((m) => m.kind in config);
    return { index, path, node, config, module };
  });

  const diag: Diagnostics = { file, errors };
  const refs: StepRef[] = [];
  for (const st of steps) {
    // Ids and inputs of steps with other errors still count, so references to them are not reported as unknown.
    const node = st.node.kind === 'map' ? st.node : undefined;
    const id = node && scalarString(findEntry(node, 'id')?.value);
    const from = node && scalarString(findEntry(node, 'from')?.value);
    if (!node || id === undefined) continue;
    const keySource = st.config && st.module?.setsKey?.(st.config);
    refs.push({
      index: st.index, id, idPos: findEntry(node, 'id')!.value.pos, path: st.path, kind: st.module?.kind ?? 'invalid',
      from: from ?? '', fromPos: findEntry(node, 'from')?.value.pos ?? node.pos,
      ...(keySource !== undefined ? { keySource } : {}),
    });
  }
  const { kinds, owners } = checkIds(diag, sources, refs);
  const known = [...kinds.keys()];
  const lateKinds = opts.steps.filter((m) => m.lateOutput).map((m) => m.kind);
  const inputs = new Map<number, string>();
  for (const r of refs) {
    if (!steps[r.index].config || !owners.has(r)) continue;
    const input = resolveInput(diag, kinds, r.from, r.fromPos, `${r.path}.from`, { allowDlq: false, known, lateKinds });
    if (input !== undefined) inputs.set(r.index, input);
  }
  const wiring = wire(diag, sources.map((x) => x.id), refs.filter((r) => inputs.has(r.index)), inputs);

  const baseDir = opts.baseDir ?? (file === '<inline>' ? process.cwd() : dirname(resolve(file)));
  const plannedSteps: PlannedStep[] = [];
  for (const index of wiring.order) {
    const st = steps[index];
    if (!st.config || !st.module || st.node.kind !== 'map') continue;
    const built = buildStep(diag, {
      module: st.module,
      config: st.config,
      node: st.node,
      path: st.path,
      location: location(file, findEntry(st.node, 'id')?.value.pos ?? st.node.pos, st.path),
      inputKey: wiring.keyOf.get(inputs.get(index)!),
      distinctExactLimit: shell?.spec.state.distinctExactLimit ?? 10_000,
      baseDir,
    });
    const key = wiring.keyOf.get(st.config.id);
    if (built) plannedSteps.push(key === undefined ? built : { ...built, keyedBy: key });
  }

  const plannedSources: PlannedSource[] = [];
  for (const src of sources) {
    if (!src.value) continue;
    const connector = Object.keys(opts.catalog.sources).find((k) => k in src.value!)!;
    const config = (src.value[connector] ?? {}) as Record<string, unknown>;
    const eventTime = src.value.eventTime as EventTimeConfig;
    const formatInput = { config: src.value.format as SourceFormatConfig, node: src.node, path: src.path, baseDir };
    const format = planSourceFormat(diag, formatInput, opts.checkFormat);
    if (format === undefined) continue;
    plannedSources.push({
      id: src.id,
      connector,
      config,
      displayConfig: display(config, joinPath(src.path, connector), ctx.interpolated!) as Record<string, unknown>,
      format,
      ...(typeof config.partitionKey === 'string' ? { partitionKey: config.partitionKey.trim() } : {}),
      eventTime: {
        ...(eventTime.field !== undefined ? { field: eventTime.field } : {}),
        maxOutOfOrdernessMs: eventTime.maxOutOfOrderness,
        idleTimeoutMs: eventTime.idleTimeout,
      },
      location: location(file, src.idPos, src.path),
    });
  }

  const plannedSinks: PlannedSink[] = [];
  for (const e of sinksNode?.entries ?? []) {
    const path = joinPath('spec.sinks', e.key);
    const value = validateSpec(sinkSpec(opts.catalog), e.value, ctx, path, e.keyPos) as Record<string, unknown> | undefined;
    if (e.key === 'dlq') diag.errors.push(new TopologyError('TRIB_TOPOLOGY_INVALID', location(file, e.keyPos, path), "'dlq' is reserved: name the sink something else and write `from: dlq`"));
    if (!value) continue;
    const fromNode = e.value.kind === 'map' ? findEntry(e.value, 'from')?.value : undefined;
    const from = value.from as string;
    if (resolveInput(diag, kinds, from, fromNode?.pos ?? e.keyPos, `${path}.from`, { allowDlq: true, known: [...known, 'dlq'], lateKinds }) === undefined) continue;
    const connector = Object.keys(opts.catalog.sinks).find((k) => k in value)!;
    const connectorNode = (e.value.kind === 'map' ? findEntry(e.value, connector)?.value : undefined) ?? e.value;
    const sinkFormat = { spec: opts.catalog.sinks[connector], config: (value[connector] ?? {}) as Record<string, unknown>, node: connectorNode, path: joinPath(path, connector), baseDir };
    const config = planSinkFormat(diag, sinkFormat, opts.checkFormat);
    if (config === undefined) continue;
    plannedSinks.push({
      id: e.key, from, connector, config,
      displayConfig: display(config, joinPath(path, connector), ctx.interpolated!) as Record<string, unknown>,
      location: location(file, e.keyPos, path),
    });
  }

  if (errors.length > 0 || !shell) throw new TopologyErrors(sortByPosition(errors));
  return {
    apiVersion: API_VERSION,
    name: shell.metadata.name,
    file: file === '<inline>' ? file : resolve(file),
    checkpointIntervalMs: shell.spec.checkpoint.interval,
    stateCacheSize: shell.spec.state.cacheSize,
    ...(shell.spec.kafka !== undefined ? { kafka: shell.spec.kafka } : {}),
    sources: plannedSources,
    steps: decideRepartitions(plannedSources, plannedSteps),
    sinks: plannedSinks,
  };
}

/** A pipeline item as its spec validated it: id, from, one step kind's key and its siblings. */
type StepConfig = Readonly<Record<string, unknown>> & { id: string; from: string };

function mapAt(node: MapNode, key: string): MapNode | undefined {
  const v = findEntry(node, key)?.value;
  return v?.kind === 'map' ? v : undefined;
}

function scalarString(node: ConfigNode | undefined): string | undefined {
  return node?.kind === 'scalar' && typeof node.value === 'string' ? node.value : undefined;
}

function location(file: string, pos: Position, path: string) {
  return { file, line: pos.line, col: pos.col, path };
}

/** The config with every interpolated value replaced by the text written (${VAR}): safe to print. */
function display(value: unknown, path: string, interpolated: ReadonlyMap<string, string>): unknown {
  const written = interpolated.get(path);
  if (written !== undefined) return written;
  if (Array.isArray(value)) return value.map((v, i) => display(v, `${path}[${i}]`, interpolated));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, display(v, joinPath(path, k), interpolated)]));
  }
  return value;
}

function sortByPosition(errors: readonly TopologyError[]): TopologyError[] {
  return [...errors].sort((a, b) => a.location.line - b.location.line || a.location.col - b.location.col);
}
