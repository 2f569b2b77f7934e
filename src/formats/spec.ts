/**
 * A `format:` as written in a topology, declared once for both directions: a source's (decode)
 * and a sink's (encode). The two differ only where a direction needs something: decoding may
 * resolve from a `writerSchema`; encoding needs `schema` and an id for it (`schemaId`).
 * `formatFromConfig` turns what was written into the FormatSpec the formats are built from.
 */
import { isAbsolute, resolve } from 'node:path';
import { s, type Fields, type Infer } from '../core/spec.js';
import type { FormatSpec } from './types.js';

const schemaPath = s.string({ minLength: 1 });

function registrySpec(purpose: string) {
  return s
    .object({
      url: s.string({ minLength: 1 }).describe('Schema Registry base URL, e.g. "${SCHEMA_REGISTRY_URL}" (no credentials in it).'),
      username: s.string().optional().describe('Basic-auth user, e.g. "${SCHEMA_REGISTRY_USER}".'),
      password: s.string().secret().optional().describe('Basic-auth password.'),
      timeout: s.duration({ min: 1 }).default(10_000).describe('Per-request timeout. A registry that fails or times out is retried with backoff; records wait.'),
    })
    .describe(purpose);
}

interface Direction<A extends Fields, C extends Fields> {
  /** What `avro.schema` is. */
  avroSchema: string;
  /** Fields of `avro` besides `schema`. */
  avro: A;
  confluentDescription: string;
  /** Fields of `confluent` besides `registry` and `schemas`. */
  confluent: C;
  registry: string;
  schemas: string;
  description: string;
}

function formatSpec<A extends Fields, C extends Fields>(d: Direction<A, C>) {
  return s
    .union(
      s.enum(['json'] as const),
      s.oneOfKeys(
        {
          avro: s
            .object({ schema: schemaPath.describe(d.avroSchema), ...d.avro })
            .describe('Plain Avro binary values, no framing.'),
          confluent: s
            .object({ ...d.confluent, registry: registrySpec(d.registry).optional(), schemas: schemaPath.optional().describe(d.schemas) })
            .describe(d.confluentDescription),
        },
        { noun: 'format' },
      ).describe('A format that needs schemas, written as a mapping (`format: json`, the default, needs none).'),
    )
    .default('json')
    .describe(d.description);
}

/** A source's `format`. */
export const readFormatSpec = formatSpec({
  avroSchema: 'The .avsc rows are read as (path relative to the topology file).',
  confluentDescription: 'Confluent wire format: magic byte 0, a 4-byte schema id, an Avro body. Needs `registry` or `schemas`.',
  avro: {
    writerSchema: schemaPath.optional().describe('The .avsc the data was written with, when another version of `schema` (fields added with defaults, removed, promoted).'),
  },
  confluent: {
    schema: schemaPath.optional().describe("The .avsc rows are read as (each record's writer schema is resolved to it). Absent: rows have the writer's shape."),
  },
  registry: 'Where schema ids are looked up (GET /schemas/ids/{id}, cached).',
  schemas: 'A JSON file {"<id>": <avro schema>}, used when no registry is set.',
  description:
    'How bytes/text become rows (for sources delivering bytes): `json`, `{ avro: {...} }` or `{ confluent: {...} }`. Undecodable records go to the dead-letter output.',
});

/** A sink's `format`. */
export const writeFormatSpec = formatSpec({
  avroSchema: 'The .avsc rows are written with (path relative to the topology file).',
  confluentDescription: 'Confluent wire format: magic byte 0, a 4-byte schema id, an Avro body. Needs `schemaId`, `registry` or `schemas` for the id.',
  avro: {},
  confluent: {
    schema: schemaPath.describe('The .avsc rows are written with (path relative to the topology file).'),
    schemaId: s.number({ integer: true, min: 0, max: 0x7fffffff }).optional()
      .describe('The id to write in front of each record; no registry call. Absent: the id comes from `registry` or `schemas`.'),
  },
  registry:
    'Where `schema` is registered, under subject `<topic>-value` (POST /subjects/<topic>-value/versions, once per run; an identical schema keeps its id). Retried on 5xx and connection errors; a refusal (e.g. 409 incompatible) fails the sink.',
  schemas: 'A JSON file {"<id>": <avro schema>}: the id whose schema equals `schema` is written (used when no registry is set).',
  description:
    'How rows become bytes: `json`, `{ avro: { schema } }` or `{ confluent: { schema, registry | schemas | schemaId } }`. A row the schema cannot hold goes to the dead-letter output.',
});

export type ReadFormatConfig = Infer<typeof readFormatSpec>;
export type WriteFormatConfig = Infer<typeof writeFormatSpec>;
/** Either direction's `format` as written (and validated). */
export type FormatConfig = ReadFormatConfig | WriteFormatConfig;

/** True when `spec` is the sink `format` declaration (a connector spec's `format` field). */
export function isWriteFormatSpec(spec: { def: unknown } | undefined): boolean {
  return spec !== undefined && spec.def === writeFormatSpec.def;
}

/** Why a written format cannot be built, from the config alone (no files read). */
export interface FormatConfigProblem {
  variant: 'avro' | 'confluent';
  message: string;
}

/** The same config with every schema path absolute (relative ones resolved from `baseDir`). */
export function withAbsolutePaths<C extends FormatConfig>(config: C, baseDir: string): C {
  const written: FormatConfig = config;
  if (written === 'json') return config;
  const at = (p: string | undefined): string | undefined => (p === undefined || isAbsolute(p) ? p : resolve(baseDir, p));
  if ('avro' in written) {
    const avro: Record<string, unknown> = { ...written.avro, schema: at(written.avro.schema) };
    if ('writerSchema' in written.avro && written.avro.writerSchema !== undefined) avro.writerSchema = at(written.avro.writerSchema);
    return { ...written, avro } as C;
  }
  const c = written.confluent;
  return {
    ...written,
    confluent: { ...c, ...(c.schema !== undefined ? { schema: at(c.schema) } : {}), ...(c.schemas !== undefined ? { schemas: at(c.schemas) } : {}) },
  } as C;
}

/** Which way a format is used: a source decodes ('read'), a sink encodes ('write'). */
export type FormatUse = 'read' | 'write';

/**
 * The FormatSpec a written format builds, schema paths resolved from `baseDir` (default: cwd), or
 * why it cannot be built from what is written (Confluent framing without a way to schema ids).
 */
export function formatFromConfig(config: FormatConfig, use: FormatUse, baseDir: string = process.cwd()): FormatSpec | FormatConfigProblem {
  const abs = withAbsolutePaths(config, baseDir);
  if (abs === 'json') return 'json';
  if ('avro' in abs) {
    const writerSchema = 'writerSchema' in abs.avro ? abs.avro.writerSchema : undefined;
    return { type: 'avro', schema: abs.avro.schema, ...(writerSchema !== undefined ? { writerSchema } : {}) };
  }
  const c = abs.confluent;
  const schemaId = 'schemaId' in c ? c.schemaId : undefined;
  if (c.registry === undefined && c.schemas === undefined && schemaId === undefined) {
    const message = use === 'write'
      ? "confluent needs 'registry' (a Schema Registry), 'schemas' (a local id→schema file) or 'schemaId'"
      : "confluent needs 'registry' (a Schema Registry) or 'schemas' (a local id→schema file)";
    return { variant: 'confluent', message };
  }
  return {
    type: 'confluent-avro',
    ...(c.schema !== undefined ? { schema: c.schema } : {}),
    ...(c.registry !== undefined
      ? {
          registry: {
            url: c.registry.url,
            ...(c.registry.username !== undefined ? { username: c.registry.username } : {}),
            ...(c.registry.password !== undefined ? { password: c.registry.password } : {}),
            timeoutMs: c.registry.timeout,
          },
        }
      : {}),
    ...(c.schemas !== undefined ? { schemas: c.schemas } : {}),
    ...(schemaId !== undefined ? { schemaId } : {}),
  };
}

export function isFormatConfigProblem(x: FormatSpec | FormatConfigProblem): x is FormatConfigProblem {
  return typeof x === 'object' && 'variant' in x;
}
