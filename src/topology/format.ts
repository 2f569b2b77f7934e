/**
 * The topology format v1, declared once with `s`: validation, JSON Schema and the markdown
 * reference all come from these declarations.
 */
import type { ConnectorCatalog } from '../core/catalog.js';
import type { StepModule } from '../operators/step-module.js';
import { readFormatSpec } from '../formats/spec.js';
import { s, type AnySpec, type Infer } from '../core/spec.js';
import { DEFAULT_STATE_CACHE_SIZE as DEFAULT_CACHE_SIZE } from '../core/size.js';

export const API_VERSION = 'tributary/v1';

/** Step and source ids: used in state keys and topic names (`<app>.<step>.changelog`), never with dots. */
export const idPattern = '^[A-Za-z_][A-Za-z0-9_-]*$';
const idHint = 'use letters, digits, _ and - (starting with a letter or _)';

export const eventTimeSpec = s
  .object({
    field: s.string({ minLength: 1 }).optional().describe('Row field holding event time (epoch ms or ISO-8601). Absent: the record time.'),
    maxOutOfOrderness: s.duration().default(0).describe('Watermark = max event time seen minus this.'),
    idleTimeout: s.duration({ min: 1 }).default(30_000).describe('A partition idle this long stops holding the watermark back.'),
  })
  .describe('Where event time comes from and how out of order it may be.');

/**
 * A pipeline item: exactly one step kind's key (each module's spec), `id` and `from`, and the
 * fields the module allows beside its key.
 */
export function stepSpec(steps: StepCatalog): AnySpec {
  const lateKinds = steps.filter((m) => m.lateOutput).map((m) => m.kind);
  return s.oneOfKeys(Object.fromEntries(steps.map((m) => [m.kind, m.spec])), {
    common: {
      id: s.string({ pattern: idPattern, patternHint: idHint }).describe('Unique name of the step (state and topic names derive from it).'),
      from: s.string({ minLength: 1 }).describe(`Input: a source, a step, or \`<step>.late\` of a ${lateKinds.join('/')} step.`),
    },
    siblings: Object.fromEntries(steps.filter((m) => Object.keys(m.siblings).length > 0).map((m) => [m.kind, m.siblings])),
    noun: 'step kind',
  });
}

/** The step kinds a topology may use (operators/registry.ts); compile takes them as a parameter. */
export type StepCatalog = readonly StepModule[];

/** A source's `format` (declared with the sink's, once: formats/spec.ts). */
export const sourceFormatSpec = readFormatSpec;

export type SourceFormatConfig = Infer<typeof sourceFormatSpec>;
export type EventTimeConfig = Infer<typeof eventTimeSpec>;

export function sourceSpec(catalog: ConnectorCatalog): AnySpec {
  return s.oneOfKeys(catalog.sources, {
    common: {
      format: sourceFormatSpec,
      eventTime: eventTimeSpec.default({ maxOutOfOrderness: 0, idleTimeout: 30_000 }),
    },
    noun: 'source connector',
  });
}

export function sinkSpec(catalog: ConnectorCatalog): AnySpec {
  return s.oneOfKeys(catalog.sinks, {
    common: { from: s.string({ minLength: 1 }).describe('A step, `<step>.late`, or `dlq` (every dead letter).') },
    noun: 'sink connector',
  });
}

const topicConfigsSpec = s
  .record(s.string(), { keyPattern: '^(?!cleanup\\.policy$)[a-z][a-z0-9.]*$', keyHint: 'a Kafka topic config name, e.g. min.insync.replicas; cleanup.policy is fixed per kind' })
  .optional()
  .describe('Further topic configs, name → value (strings), e.g. `min.insync.replicas: "2"`.');
const replicationSpec = s.number({ integer: true, min: 1, max: 32767 });

function internalKindSpec(what: string, retention: boolean) {
  return s
    .object({
      replicationFactor: replicationSpec.optional().describe('Overrides `internalTopics.replicationFactor` for these topics.'),
      ...(retention ? { retention: s.duration({ min: 1 }).optional().describe('retention.ms of these topics.') } : {}),
      configs: topicConfigsSpec,
    })
    .optional()
    .describe(what);
}

/** `spec.kafka`: how a topology's internal topics are created (kafka/internal-topics.ts applies it). */
export const kafkaSectionSpec = s
  .object({
    internalTopics: s
      .object({
        replicationFactor: replicationSpec.optional().describe('Replication factor of new internal topics. Default: min(3, brokers in the cluster).'),
        changelog: internalKindSpec('`<app>.<step>.changelog` topics: cleanup.policy=compact; an existing one must have the input partition count and cleanup.policy compact.', false),
        repartition: internalKindSpec('`<app>.<step>.repartition` topics: cleanup.policy=delete, no time retention by default (record timestamps are event times; consumed records are not purged yet, so set a retention above the age of the oldest event time to bound disk); an existing one must have the input partition count and cleanup.policy delete.', true),
        dlq: internalKindSpec('The topic of a kafka sink reading `dlq` on the input cluster, created when missing with the input partition count: cleanup.policy=delete, retention the broker default; an existing one must not be compacted.', true),
      })
      .optional()
      .describe('Internal topics are created when missing with these settings; min.insync.replicas is 2 when the replication factor is 3 or more, else 1. A worker refuses to start when an existing one has the wrong partition count or cleanup.policy.'),
  })
  .optional()
  .describe('Kafka mode settings (topologies whose sources are `kafka:`).');

export type KafkaSectionConfig = Infer<typeof kafkaSectionSpec>;

interface Parts {
  source: AnySpec;
  step: AnySpec;
  sink: AnySpec;
}

/** The document with the given specs for sources, steps and sinks (compile validates those one by one). */
export function documentSpec(parts: Parts): AnySpec {
  return s.object({
    apiVersion: s.enum([API_VERSION] as const),
    kind: s.enum(['Topology'] as const),
    metadata: s.object({
      name: s
        .string({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', patternHint: 'letters, digits, _ . - (it prefixes topic names)' })
        .describe('Application name: prefix of internal topics and the consumer group.'),
      description: s.string().optional(),
      labels: s.record(s.string()).optional(),
    }),
    spec: s.object({
      checkpoint: s.object({ interval: s.duration({ min: 1 }).default(5000).describe('How often state and positions are committed.') }).default({ interval: 5000 }),
      state: s
        .object({
          distinctExactLimit: s.number({ integer: true, min: 1 }).default(10_000).describe('count_distinct is exact up to this many values, HyperLogLog beyond.'),
          cacheSize: s
            .size({ min: 16 * 2 ** 20 })
            .default(DEFAULT_CACHE_SIZE)
            .describe("Memory for state per worker: decoded entries in the write-back cache, LevelDB's block cache and write buffers. State beyond it lives on disk (LevelDB). `tributary run --cache-size` overrides it."),
        })
        .default({ distinctExactLimit: 10_000, cacheSize: DEFAULT_CACHE_SIZE })
        .describe('Defaults for stateful steps.'),
      kafka: kafkaSectionSpec,
      sources: s.record(parts.source, { keyPattern: idPattern, keyHint: idHint }).describe('Named inputs; exactly one connector each.'),
      pipeline: s.array(parts.step).describe('The steps; order does not matter (`from` wires them).'),
      sinks: s.record(parts.sink, { keyPattern: idPattern, keyHint: idHint }).default({}).describe('Named outputs.'),
    }),
  });
}

/** The whole format for a catalog: what `tributary schema` and the reference docs show. */
export function topologySpec(catalog: ConnectorCatalog, steps: StepCatalog): AnySpec {
  return documentSpec({ source: sourceSpec(catalog), step: stepSpec(steps), sink: sinkSpec(catalog) });
}
