/**
 * Plain Avro binary bodies (no container header, no framing) read with a reader schema from
 * schemas/*.avsc, optionally resolved from the writer's schema (Avro schema evolution: added fields
 * with defaults, removed fields, int→long/float/double promotions). Value mapping: avro-values.ts.
 */
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type avsc from 'avsc';
import { TributaryError, errorMessage } from '../core/errors.js';
import type { Row } from '../core/record.js';
import { AvroShapeError, avroType, compileFromRow, compileToRow, describeInvalid } from './avro-values.js';
import type { Format } from './types.js';

export interface AvroCodec {
  readonly type: avsc.Type;
  /** Avro body → Row; throws TRIB_RECORD_INVALID with a short reason. */
  decode(body: Uint8Array, writer?: AvroWriter): Row;
  /** Row → Avro body; throws TRIB_RECORD_INVALID naming the offending fields. */
  encode(row: Row): Buffer;
}

/** A writer schema and the resolver that reads its data with some reader schema. */
export interface AvroWriter {
  readonly type: avsc.Type;
  readonly resolver: avsc.Resolver | undefined;
}

function schemaLabel(type: avsc.Type): string {
  return type.name ?? type.typeName;
}

/** Parse a schema object; a bad schema is a configuration error. */
export function parseSchema(schema: unknown, where: string): avsc.Type {
  try {
    return avroType(schema);
  } catch (err) {
    throw new TributaryError('TRIB_USAGE', `invalid Avro schema in ${where}: ${errorMessage(err)}`, { cause: err });
  }
}

export function loadSchemaFile(path: string, baseDir?: string): avsc.Type {
  return readSchemaFile(path, baseDir).type;
}

/** A schema file as written (what a Schema Registry is sent) and parsed. */
export interface SchemaFile {
  /** The path as resolved from baseDir. */
  path: string;
  /** The parsed JSON, docs, defaults and logical types included. */
  json: unknown;
  type: avsc.Type;
}

export function readSchemaFile(path: string, baseDir?: string): SchemaFile {
  const full = baseDir === undefined ? path : resolvePath(baseDir, path);
  let text: string;
  try {
    text = readFileSync(full, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : errorMessage(err);
    throw new TributaryError('TRIB_USAGE', `cannot read Avro schema ${full}: ${reason}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new TributaryError('TRIB_USAGE', `invalid Avro schema in ${full}: not JSON (${errorMessage(err)})`, { cause: err });
  }
  return { path: full, json, type: parseSchema(json, full) };
}

/**
 * How `reader` reads data written with `writer`. Throws TRIB_USAGE when the two are incompatible
 * (callers that learn the writer per record turn that into a bad record instead).
 */
export function writerFor(reader: avsc.Type, writer: avsc.Type): AvroWriter {
  if (writer === reader || writer.equals(reader)) return { type: reader, resolver: undefined };
  try {
    return { type: writer, resolver: reader.createResolver(writer) };
  } catch (err) {
    throw new TributaryError('TRIB_USAGE', `writer schema ${schemaLabel(writer)} cannot be read as ${schemaLabel(reader)}: ${errorMessage(err)}`, { cause: err });
  }
}

export function createAvroCodec(reader: avsc.Type): AvroCodec {
  const toRow = compileToRow(reader);
  const fromRow = compileFromRow(reader);
  const label = schemaLabel(reader);
  return {
    type: reader,
    decode(body, writer) {
      const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
      let value: unknown;
      try {
        value = reader.fromBuffer(buf, writer?.resolver);
      } catch (err) {
        // avsc's reasons are short ("truncated buffer", "invalid union index: 57", "trailing data").
        throw new TributaryError('TRIB_RECORD_INVALID', `invalid Avro for ${label} (${buf.length} bytes): ${errorMessage(err)}`, { cause: err });
      }
      const row = toRow(value);
      if (row === null || typeof row !== 'object' || Array.isArray(row)) {
        // A non-record top-level schema still yields a row, under one field.
        return { value: row };
      }
      return row;
    },
    encode(row) {
      let value: unknown;
      try {
        // Mirror of decode: a non-record schema's value travels as the row's `value` field.
        value = reader.typeName === 'record' || reader.typeName === 'error' ? fromRow(row) : fromRow(row.value ?? null);
      } catch (err) {
        if (err instanceof AvroShapeError) throw new TributaryError('TRIB_RECORD_INVALID', `row does not match Avro schema ${label}: ${err.path}: ${err.message}`);
        throw err;
      }
      let problems: string[];
      try {
        problems = describeInvalid(reader, value);
        if (problems.length === 0) return reader.toBuffer(value);
      } catch (err) {
        // avsc's own refusals (e.g. a value two union branches could take) are this row's too.
        problems = [errorMessage(err)];
      }
      throw new TributaryError('TRIB_RECORD_INVALID', `row does not match Avro schema ${label}: ${problems.join('; ')}`);
    },
  };
}

export interface AvroFormatOptions {
  /** Path to the reader .avsc (the shape rows get). */
  schema: string;
  /** Path to the writer .avsc when the data was written with another version of the schema. */
  writerSchema?: string;
  /** Directory relative paths are resolved from (the topology file's). Default: the process's cwd. */
  baseDir?: string;
}

export function createAvroFormat(options: AvroFormatOptions): Format {
  const reader = loadSchemaFile(options.schema, options.baseDir);
  const codec = createAvroCodec(reader);
  const writer = options.writerSchema === undefined ? undefined : writerFor(reader, loadSchemaFile(options.writerSchema, options.baseDir));
  return {
    name: 'avro',
    decode(value) {
      if (typeof value === 'string') throw new TributaryError('TRIB_RECORD_INVALID', 'invalid Avro: got text, expected binary');
      return codec.decode(value, writer);
    },
    // Always written with the reader schema: that is the schema this worker knows rows by.
    encode: (row) => codec.encode(row),
  };
}
