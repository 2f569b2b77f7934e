/**
 * Confluent wire format:
 *
 *   byte 0      magic, always 0
 *   bytes 1..4  schema id, int32 big-endian (the writer's schema in the registry)
 *   bytes 5..   Avro binary body written with that schema
 *
 * Each record names its writer schema; rows come out in the reader schema when one is configured
 * (resolved per id, cached), else in the writer's own shape. Encoding writes `schema` under
 * `schemaId`, or the id the source gives it (registered under a subject, or found in the id file)
 * once `prepareEncode` learned it.
 */
import type avsc from 'avsc';
import { TributaryError, errorMessage } from '../core/errors.js';
import { createAvroCodec, readSchemaFile, writerFor, type AvroCodec, type AvroWriter } from './avro.js';
import type { SchemaSource } from './schema-registry.js';
import type { Format } from './types.js';

export const CONFLUENT_MAGIC = 0;
export const CONFLUENT_HEADER_BYTES = 5;

/** Magic byte + big-endian schema id in front of an Avro body. */
export function frameConfluent(schemaId: number, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(CONFLUENT_HEADER_BYTES + body.length);
  out[0] = CONFLUENT_MAGIC;
  out.writeUInt32BE(schemaId, 1);
  out.set(body, CONFLUENT_HEADER_BYTES);
  return out;
}

/** The schema id of a framed value, or a TRIB_RECORD_INVALID saying why it is not framed. */
export function confluentSchemaId(value: Uint8Array | string): number {
  if (typeof value === 'string') throw new TributaryError('TRIB_RECORD_INVALID', 'not Confluent framing (got text, expected binary)');
  if (value.length > 0 && value[0] !== CONFLUENT_MAGIC) throw new TributaryError('TRIB_RECORD_INVALID', `not Confluent framing (magic byte ${value[0]})`);
  if (value.length < CONFLUENT_HEADER_BYTES) {
    throw new TributaryError('TRIB_RECORD_INVALID', `not Confluent framing (${value.length} bytes, header needs ${CONFLUENT_HEADER_BYTES})`);
  }
  return ((value[1] << 24) | (value[2] << 16) | (value[3] << 8) | value[4]) >>> 0;
}

function tryId(value: Uint8Array | string): number | undefined {
  try {
    return confluentSchemaId(value);
  } catch {
    return undefined;
  }
}

export interface ConfluentAvroOptions {
  source: SchemaSource;
  /** Path to the reader .avsc. */
  schema?: string;
  /** Schema id encode writes; the schema must be `schema` (or the id's schema when there is none). */
  schemaId?: number;
  /** Subject `schema` is registered under to learn its id, when there is no `schemaId`. */
  subject?: string;
  baseDir?: string;
}

interface PerId {
  codec: AvroCodec;
  writer: AvroWriter | undefined;
}

export function createConfluentAvroFormat(options: ConfluentAvroOptions): Format {
  const { source } = options;
  const readerFile = options.schema === undefined ? undefined : readSchemaFile(options.schema, options.baseDir);
  const reader = readerFile?.type;
  const readerCodec = reader === undefined ? undefined : createAvroCodec(reader);
  // Compiled once per id; an id whose schema the reader cannot read is remembered as that reason.
  const perId = new Map<number, PerId | string>();

  function forId(id: number): PerId {
    const known = perId.get(id);
    if (typeof known === 'string') throw new TributaryError('TRIB_RECORD_INVALID', known);
    if (known) return known;
    const found = source.lookup(id);
    if (found === undefined) {
      // Not a bad record: the caller skipped prepare(). Retriable so it is not dead-lettered.
      throw new TributaryError('TRIB_SOURCE', `schema id ${id} is not loaded yet: await format.prepare(values) before decode`, { retriable: true });
    }
    if (!('typeName' in found)) throw new TributaryError('TRIB_RECORD_INVALID', `unknown schema id ${id} (${found.missing})`);
    let entry: PerId;
    if (reader === undefined || readerCodec === undefined) {
      entry = { codec: createAvroCodec(found as avsc.Type), writer: undefined };
    } else {
      try {
        entry = { codec: readerCodec, writer: writerFor(reader, found as avsc.Type) };
      } catch (err) {
        const reason = `schema id ${id} cannot be read with the reader schema: ${errorMessage(err)}`;
        perId.set(id, reason);
        throw new TributaryError('TRIB_RECORD_INVALID', reason, { cause: err });
      }
    }
    perId.set(id, entry);
    return entry;
  }

  let writeId = options.schemaId;

  return {
    name: 'confluent-avro',
    async prepareEncode() {
      if (writeId !== undefined || readerFile === undefined) return;
      writeId = await source.idFor(readerFile, options.subject);
    },
    async prepare(values) {
      const ids: number[] = [];
      for (const v of values) {
        const id = tryId(v);
        if (id !== undefined && !perId.has(id)) ids.push(id);
      }
      if (ids.length > 0) await source.load(ids);
    },
    decode(value) {
      const id = confluentSchemaId(value);
      const { codec, writer } = forId(id);
      const body = (value as Uint8Array).subarray(CONFLUENT_HEADER_BYTES);
      try {
        return codec.decode(body, writer);
      } catch (err) {
        if (err instanceof TributaryError && err.code === 'TRIB_RECORD_INVALID') {
          throw new TributaryError('TRIB_RECORD_INVALID', `schema id ${id}: ${err.message}`, { cause: err });
        }
        throw err;
      }
    },
    encode(row) {
      const id = writeId;
      if (id === undefined) {
        throw new TributaryError(
          'TRIB_USAGE',
          readerFile === undefined
            ? 'confluent-avro cannot encode without schemaId or schema (the .avsc rows are written with)'
            : 'confluent-avro cannot encode without schemaId: await format.prepareEncode() to learn the id of schema',
        );
      }
      const codec = readerCodec ?? forId(id).codec;
      return frameConfluent(id, codec.encode(row));
    },
  };
}
