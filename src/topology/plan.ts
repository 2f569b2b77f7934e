/**
 * The logical plan: what topology/ produces from YAML and the runtime consumes.
 * Data, compiled expressions and the step modules that planned each step; no I/O, and nothing
 * of the runtime.
 */
import type { SourceLocation } from '../core/errors.js';
import type { FormatSpec } from '../formats/types.js';
import type { PlannedStep } from '../operators/step-module.js';
import type { KafkaSectionConfig } from './format.js';

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

/**
 * A step: id, from, kind, key, location, fingerprint, and the fields its step module planned
 * (operators/<kind>.ts declares them; the built-in kinds' types are re-exported here).
 */
export type { PlannedStep, StepModule } from '../operators/step-module.js';
export type { FilterStep } from '../operators/filter.js';
export type { MapStep } from '../operators/map.js';
export type { KeyByStep } from '../operators/key-by.js';
export type { ExplodeStep } from '../operators/explode.js';
export type { DedupeStep } from '../operators/dedupe.js';
export type { WindowStep } from '../operators/window-aggregate.js';
export type { CodeStep } from '../operators/code.js';

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
  /** spec.state.cacheSize: bytes of memory for state (cache, LevelDB block cache and write buffers). */
  stateCacheSize: number;
  /** spec.kafka as written (Kafka mode only; kafka/internal-topics.ts applies internalTopics). */
  kafka?: KafkaSectionConfig;
  sources: readonly PlannedSource[];
  /** Topologically sorted: every step comes after its input. */
  steps: readonly PlannedStep[];
  sinks: readonly PlannedSink[];
}
