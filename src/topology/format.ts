/**
 * The topology format v1, declared once with `s`: validation, JSON Schema and the markdown
 * reference all come from these declarations.
 */
import type { ConnectorCatalog } from '../core/catalog.js';
import { readFormatSpec } from '../formats/spec.js';
import { s, type AnySpec, type Infer } from '../core/spec.js';

export const API_VERSION = 'tributary/v1';

/** Step and source ids: used in state keys and topic names (`<app>.<step>.changelog`), never with dots. */
export const idPattern = '^[A-Za-z_][A-Za-z0-9_-]*$';
const idHint = 'use letters, digits, _ and - (starting with a letter or _)';
const fieldHint = 'an output field name: letters, digits and _';

export const eventTimeSpec = s
  .object({
    field: s.string({ minLength: 1 }).optional().describe('Row field holding event time (epoch ms or ISO-8601). Absent: the record time.'),
    maxOutOfOrderness: s.duration().default(0).describe('Watermark = max event time seen minus this.'),
    idleTimeout: s.duration({ min: 1 }).default(30_000).describe('A partition idle this long stops holding the watermark back.'),
  })
  .describe('Where event time comes from and how out of order it may be.');

export const windowSpec = s
  .oneOfKeys(
    {
      tumbling: s.duration({ min: 1 }).describe('Fixed, non-overlapping windows of this size.'),
      hopping: s.object({ size: s.duration({ min: 1 }), slide: s.duration({ min: 1 }) }).describe('Windows of `size` starting every `slide`.'),
      rolling: s.duration({ min: 1 }).describe('The last `size` as of each event and as of now; needs `emit: updates`.'),
      session: s.object({ gap: s.duration({ min: 1 }) }).describe('Activity separated by at least `gap` of silence.'),
    },
    {
      siblings: {
        rolling: { resolution: s.duration({ min: 1 }).default(60_000).describe('Precision of the trailing edge; `rolling` must be a multiple of it.') },
      },
      noun: 'window type',
    },
  )
  .describe('The window: `{ rolling: 3d, resolution: 1m }`, `{ tumbling: 1m }`, `{ hopping: { size: 1h, slide: 1m } }` or `{ session: { gap: 30m } }`.');

const mapSpec = s
  .object({
    set: s.record(s.string(), { keyPattern: '^[A-Za-z_][A-Za-z0-9_]*$', keyHint: fieldHint }).optional().describe('field: expression over the input row.'),
    rename: s.record(s.string({ minLength: 1 })).optional().describe('old field: new field.'),
    drop: s.array(s.string({ minLength: 1 })).optional().describe('Fields to remove.'),
  })
  .describe('Applied in order: set, rename, drop.');

export const stepDecl = s.oneOfKeys(
    {
      filter: s.string({ minLength: 1 }).describe('Expression: rows for which it is true pass.'),
      map: mapSpec,
      keyBy: s.string({ minLength: 1 }).describe('Expression giving the record key; re-partitions by it.'),
      explode: s.string({ minLength: 1 }).describe('Expression yielding a list: one output row per element.'),
      dedupe: s
        .object({
          within: s.duration({ min: 1 }).describe('How long an identity is remembered.'),
          by: s.string({ minLength: 1 }).optional().describe('Expression giving the identity (default: the record key).'),
        })
        .describe('Drops records whose identity was seen within `within`; needs a keyed input.'),
      window: windowSpec,
      code: s.string({ minLength: 1 }).describe('Path of a .ts/.js module (relative to the topology file) exporting an operator.'),
    },
    {
      common: {
        id: s.string({ pattern: idPattern, patternHint: idHint }).describe('Unique name of the step (state and topic names derive from it).'),
        from: s.string({ minLength: 1 }).describe('Input: a source, a step, or `<step>.late` of a window/dedupe step.'),
      },
      siblings: {
        explode: { as: s.string({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', patternHint: fieldHint }).optional().describe('Field the element is written to (default: the exploded field).') },
        window: {
          aggregate: s
            .record(s.string({ minLength: 1 }), { keyPattern: '^[A-Za-z_][A-Za-z0-9_]*$', keyHint: fieldHint })
            .describe('output field: fn(expr) with fn in count, sum, min, max, avg, count_distinct, first, last, latest.'),
          emit: s.enum(['updates', 'final'] as const).default('updates').describe('updates: on every change; final: once when the window closes.'),
          allowedLateness: s.duration().default(0).describe('How long after a window ends records are still accepted.'),
          distinctExactLimit: s.number({ integer: true, min: 1 }).optional().describe('Overrides spec.state.distinctExactLimit for this step.'),
        },
        code: {
          export: s.string({ minLength: 1 }).default('default').describe('Named export of the module.'),
          options: s.any().optional().describe('Free-form options handed to the operator.'),
        },
      },
      noun: 'step kind',
    },
  );

/** A source's `format` (declared with the sink's, once: formats/spec.ts). */
export const sourceFormatSpec = readFormatSpec;

export type StepConfig = Infer<typeof stepDecl>;
export type SourceFormatConfig = Infer<typeof sourceFormatSpec>;
export type WindowConfig = Infer<typeof windowSpec>;
export type EventTimeConfig = Infer<typeof eventTimeSpec>;

export function stepSpec(): AnySpec {
  return stepDecl;
}

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
        })
        .default({ distinctExactLimit: 10_000 })
        .describe('Defaults for stateful steps.'),
      sources: s.record(parts.source, { keyPattern: idPattern, keyHint: idHint }).describe('Named inputs; exactly one connector each.'),
      pipeline: s.array(parts.step).describe('The steps; order does not matter (`from` wires them).'),
      sinks: s.record(parts.sink, { keyPattern: idPattern, keyHint: idHint }).default({}).describe('Named outputs.'),
    }),
  });
}

/** The whole format for a catalog: what `tributary schema` and the reference docs show. */
export function topologySpec(catalog: ConnectorCatalog): AnySpec {
  return documentSpec({ source: sourceSpec(catalog), step: stepSpec(), sink: sinkSpec(catalog) });
}
