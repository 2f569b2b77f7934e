/**
 * The one list of formats. `formats`/`getFormat` hold those that need no configuration (json);
 * `createFormat` builds any format from its spec (avro and confluent-avro need schemas), which is
 * how a topology's sources get theirs (`format:` in the YAML, see topology/source-format.ts).
 */
import { resolve as resolvePath } from 'node:path';
import { TributaryError, errorMessage } from '../core/errors.js';
import type { RawRecord } from '../core/record.js';
import type { Row } from '../core/record.js';
import { createAvroFormat, loadSchemaFile, writerFor } from './avro.js';
import { createConfluentAvroFormat } from './confluent.js';
import { jsonFormat } from './json.js';
import { httpSchemaRegistry, localSchemaSource, noSchemaSource, notInIdFile, type SchemaSource } from './schema-registry.js';
import type { Format, FormatContext, FormatProblem, FormatSpec } from './types.js';

export type { Format, FormatContext, FormatProblem, FormatSpec, SchemaRegistrySpec } from './types.js';

export const formats: Readonly<Record<string, Format>> = Object.freeze({
  json: jsonFormat,
});

export function getFormat(name: string): Format {
  const format = Object.hasOwn(formats, name) ? formats[name] : undefined;
  if (!format) {
    throw new TributaryError('TRIB_USAGE', `unknown format '${name}' (known: ${Object.keys(formats).join(', ')})`);
  }
  return format;
}

/** A raw record's value as a row: sources that already decode (generator) hand rows over as they are. */
export function decodeValue(format: Format, value: RawRecord['value']): Row {
  if (typeof value === 'string' || value instanceof Uint8Array) return format.decode(value);
  return value;
}

/** Build a configured format. Reads schema files now (configuration time), never per record. */
export function createFormat(spec: FormatSpec, context: FormatContext = {}): Format {
  if (spec === 'json') return jsonFormat;
  switch (spec.type) {
    case 'avro':
      return createAvroFormat({ schema: spec.schema, writerSchema: spec.writerSchema, baseDir: context.baseDir });
    case 'confluent-avro':
      return createConfluentAvroFormat({
        source: schemaSource(spec, context),
        schema: spec.schema,
        schemaId: spec.schemaId,
        subject: context.subject,
        baseDir: context.baseDir,
      });
    default: {
      const unknown: { type?: unknown } = spec;
      throw new TributaryError('TRIB_USAGE', `unknown format '${String(unknown.type)}' (known: json, avro, confluent-avro)`);
    }
  }
}

type ConfluentSpec = Extract<FormatSpec, { type: 'confluent-avro' }>;

function schemaSource(spec: ConfluentSpec, context: FormatContext): SchemaSource {
  if (spec.registry !== undefined) return httpSchemaRegistry(spec.registry);
  if (spec.schemas !== undefined) return localSchemaSource(spec.schemas, context.baseDir);
  if (spec.schemaId !== undefined) return noSchemaSource;
  throw new TributaryError('TRIB_USAGE', "format confluent-avro needs 'registry' (a Schema Registry url) or 'schemas' (a local id→schema file)");
}

/**
 * What would stop `createFormat(spec)`, field by field, so a topology can point at the line: a
 * missing or invalid .avsc, a writer schema the reader cannot read, a bad id→schema file or
 * registry url; to encode (`context.encode`), a confluent `schema` the id file has no id for.
 * Reads the files; contacts no registry.
 */
export function formatProblems(spec: FormatSpec, context: FormatContext = {}): FormatProblem[] {
  if (spec === 'json') return [];
  const problems: FormatProblem[] = [];
  const attempt = <T>(field: string, fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (err) {
      problems.push({ field, message: errorMessage(err) });
      return undefined;
    }
  };
  const schema = spec.schema === undefined ? undefined : attempt('schema', () => loadSchemaFile(spec.schema!, context.baseDir));
  if (spec.type === 'avro') {
    const writer = spec.writerSchema === undefined ? undefined : attempt('writerSchema', () => loadSchemaFile(spec.writerSchema!, context.baseDir));
    if (schema && writer) attempt('writerSchema', () => writerFor(schema, writer));
  } else if (spec.type === 'confluent-avro') {
    if (spec.registry !== undefined) attempt('registry.url', () => httpSchemaRegistry(spec.registry!));
    const local = spec.schemas === undefined ? undefined : attempt('schemas', () => localSchemaSource(spec.schemas!, context.baseDir));
    if (spec.registry === undefined && spec.schemas === undefined) attempt('registry', () => schemaSource(spec, context));
    if (context.encode && spec.schema === undefined) problems.push({ field: 'schema', message: 'encoding needs schema (the .avsc rows are written with)' });
    // Without a registry the id file is where the id to write comes from: it must hold the schema.
    if (context.encode && schema && local && spec.registry === undefined) {
      const schemaPath = context.baseDir === undefined ? spec.schema! : resolvePath(context.baseDir, spec.schema!);
      if (spec.schemaId === undefined) {
        if (local.idOf(schema) === undefined) problems.push({ field: 'schemas', message: notInIdFile(schemaPath, spec.schemas!) });
      } else {
        const found = local.lookup(spec.schemaId);
        if (!found || !('typeName' in found) || !found.equals(schema)) {
          problems.push({ field: 'schemaId', message: `schema id ${spec.schemaId} in ${spec.schemas} is not the schema of ${schemaPath}` });
        }
      }
    }
  }
  return problems;
}
