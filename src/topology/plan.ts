/**
 * The logical plan: what topology/ produces from YAML and the runtime consumes.
 * Pure data + compiled expressions; no I/O and no runtime imports.
 */
import type { SourceLocation } from '../core/errors.js';
import type { CompiledExpression } from '../expr/types.js';
import type { FormatSpec } from '../formats/types.js';
import type { EmitMode, AggregateSpec, WindowSpec } from '../operators/windows/types.js';

export interface EventTimeSpec {
  /** Row field holding event time (epoch ms number, or ISO-8601 string); undefined = record time. */
  field?: string;
  maxOutOfOrdernessMs: number;
  /** An input idle this long stops holding the watermark back. */
  idleTimeoutMs: number;
}

export interface PlannedSource {
  id: string;
  /** Connector name in connectors/registry.ts, e.g. 'generator', 'file', 'kafka'. */
  connector: string;
  /** Connector config, already validated against the connector's spec. */
  config: Record<string, unknown>;
  /** The config as safe to print: every ${VAR}-interpolated value shown as written, not its value. */
  displayConfig?: Record<string, unknown>;
  /** How raw bytes/text become rows: 'json' (default), or avro / confluent-avro with absolute schema paths. */
  format: FormatSpec;
  /** The expression the input is partitioned by (a Kafka source's `partitionKey`), when declared. */
  partitionKey?: string;
  eventTime: EventTimeSpec;
  location: SourceLocation;
}

interface StepBase {
  id: string;
  /** Input: a source id, a step id, or a side output '<step>.late'. */
  from: string;
  /** Key expression (source text of the nearest keyBy upstream, or this one) of the step's output; undefined = not keyed. */
  keyedBy?: string;
  location: SourceLocation;
}

export interface FilterStep extends StepBase { kind: 'filter'; predicate: CompiledExpression }

export interface MapStep extends StepBase {
  kind: 'map';
  /** Applied in this order: set (expressions over the input row), rename, drop. */
  set: ReadonlyArray<{ field: string; expr: CompiledExpression }>;
  rename: ReadonlyArray<{ from: string; to: string }>;
  drop: readonly string[];
}

export interface KeyByStep extends StepBase {
  kind: 'keyBy';
  key: CompiledExpression;
  /** Source text of the key expression (also the repartition identity). */
  keySource: string;
  /**
   * Whether records go through the repartition topic `<app>.<id>.repartition` to the task of
   * murmur2(key): false when the input is already partitioned by this key (topology/partitioning.ts).
   */
  repartition: boolean;
}

export interface ExplodeStep extends StepBase {
  kind: 'explode';
  /** Expression yielding an array; one output row per element. */
  items: CompiledExpression;
  /** Field the element is written to (default: the exploded field's own name when items is a bare field). */
  as: string;
}

export interface DedupeStep extends StepBase {
  kind: 'dedupe';
  /** Identity of a duplicate; default: the record key. */
  by?: CompiledExpression;
  withinMs: number;
  fingerprint: string;
}

export interface WindowStep extends StepBase {
  kind: 'window';
  window: WindowSpec;
  aggregates: readonly AggregateSpec[];
  /** Source text of each aggregate, e.g. "sum(amount)" (plan output, fingerprint). */
  aggregateSources: Readonly<Record<string, string>>;
  emit: EmitMode;
  allowedLatenessMs: number;
  distinctExactLimit: number;
  fingerprint: string;
}

export interface CodeStep extends StepBase {
  kind: 'code';
  /** Absolute path of the user's module (.ts or .js). */
  module: string;
  /** Named export (default: 'default'). */
  export: string;
  options: Record<string, unknown>;
  fingerprint: string;
}

export type PlannedStep = FilterStep | MapStep | KeyByStep | ExplodeStep | DedupeStep | WindowStep | CodeStep;

export interface PlannedSink {
  id: string;
  /** A step id, '<step>.late', or 'dlq' (every dead letter of the topology). */
  from: string;
  connector: string;
  config: Record<string, unknown>;
  /** The config as safe to print: every ${VAR}-interpolated value shown as written, not its value. */
  displayConfig?: Record<string, unknown>;
  location: SourceLocation;
}

export interface TopologyPlan {
  apiVersion: 'tributary/v1';
  name: string;
  /** Absolute path of the topology file ('<inline>' for text). */
  file: string;
  checkpointIntervalMs: number;
  sources: readonly PlannedSource[];
  /** Topologically sorted: every step comes after its input. */
  steps: readonly PlannedStep[];
  sinks: readonly PlannedSink[];
}
