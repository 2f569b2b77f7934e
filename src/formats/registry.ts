/**
 * The one list of formats. `formats`/`getFormat` hold those that need no configuration (json);
 * `createFormat` builds any format from its spec (avro and confluent-avro need schemas).
 */
import { TributaryError } from '../errors.js';
import type { RawRecord } from '../connectors/types.js';
import type { Row } from '../runtime/record.js';
import { createAvroFormat } from './avro.js';
import { createConfluentAvroFormat } from './confluent.js';
import { jsonFormat } from './json.js';
import { httpSchemaRegistry, localSchemaSource } from './schema-registry.js';
import type { Format, FormatContext, FormatSpec } from './types.js';

export type { Format, FormatContext, FormatSpec, SchemaRegistrySpec } from './types.js';

export const formats: Record<string, Format> = {
  json: jsonFormat,
};

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
  switch (spec.type) {
    case 'json':
      return jsonFormat;
    case 'avro':
      return createAvroFormat({ schema: spec.schema, writerSchema: spec.writerSchema, baseDir: context.baseDir });
    case 'confluent-avro': {
      let source;
      if (spec.registry !== undefined) source = httpSchemaRegistry(spec.registry, { env: context.env });
      else if (spec.schemas !== undefined) source = localSchemaSource(spec.schemas, context.baseDir);
      else throw new TributaryError('TRIB_USAGE', "format confluent-avro needs 'registry' (a Schema Registry url) or 'schemas' (a local id→schema file)");
      return createConfluentAvroFormat({ source, readerSchema: spec.readerSchema, schemaId: spec.schemaId, baseDir: context.baseDir });
    }
    default: {
      const unknown: { type?: unknown } = spec;
      throw new TributaryError('TRIB_USAGE', `unknown format '${String(unknown.type)}' (known: json, avro, confluent-avro)`);
    }
  }
}
