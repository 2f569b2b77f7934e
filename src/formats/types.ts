import type { Row } from '../core/record.js';

/** How a source's bytes/text become rows and rows become bytes (json, avro, confluent-avro). */
export interface Format {
  readonly name: string;
  /** Throws TributaryError('TRIB_RECORD_INVALID') for a value that is not a valid row. */
  decode(value: Uint8Array | string): Row;
  encode(row: Row): Uint8Array;
  /**
   * Fetch what decoding these values needs (schemas from a registry) so `decode` can stay
   * synchronous. Formats that need nothing leave it out. Callers await it once per batch before
   * decoding; it throws a retriable TributaryError on transient failures (retry the batch, do not
   * dead-letter it). Values it cannot help with (bad framing, unknown ids) are left to `decode`.
   */
  prepare?(values: readonly (Uint8Array | string)[]): Promise<void>;
  /**
   * Make `encode` ready: learn the id to write (register the schema with a Schema Registry). Formats
   * that need nothing leave it out. Sinks await it before encoding a batch; once it succeeded it
   * returns at once. Throws a retriable TributaryError('TRIB_SINK') on transient failures and a
   * non-retriable one when the registry refuses the schema (incompatible, bad credentials).
   */
  prepareEncode?(): Promise<void>;
}

/**
 * A format as configured on a source or sink: 'json', or a format that needs schemas. Paths are
 * relative to `FormatContext.baseDir` (a topology's plan holds them absolute).
 */
export type FormatSpec =
  | 'json'
  | {
      type: 'avro';
      /** Path to the reader .avsc: the shape rows get (and the schema encode writes). */
      schema: string;
      /** Path to the .avsc the data was written with, when it differs from `schema`. */
      writerSchema?: string;
    }
  | {
      type: 'confluent-avro';
      /** Path to the reader .avsc; default: each record's writer schema. Required to encode. */
      schema?: string;
      /** Schema Registry; wins over `schemas` when both are set. */
      registry?: SchemaRegistrySpec;
      /** Path to a JSON file {"<id>": <avro schema>} used when no registry is configured. */
      schemas?: string;
      /**
       * Schema id written in front of encoded rows. Absent: `schema` is registered under
       * `FormatContext.subject` (registry), or its id is looked up in `schemas`.
       */
      schemaId?: number;
    };

export interface SchemaRegistrySpec {
  url: string;
  /**
   * Basic-auth credentials, as a topology's ${ENV} interpolation produced them. They go into the
   * Authorization header only: never into messages or logs.
   */
  username?: string;
  password?: string;
  /** Per-request timeout. Default 10 000 ms. */
  timeoutMs?: number;
}

/** Where a format's configuration is read from. */
export interface FormatContext {
  /** Directory relative schema paths are resolved from (the topology file's). Default: cwd. */
  baseDir?: string;
  /**
   * The format encodes (a sink's): `formatProblems` then also checks there is an id to write
   * `schema` with.
   */
  encode?: boolean;
  /**
   * Schema Registry subject a confluent-avro `schema` is registered under when no `schemaId` is
   * set (Confluent's TopicNameStrategy: `<topic>-value`, which the Kafka sink passes).
   */
  subject?: string;
}

/** Why a format spec cannot be built, by field: `schema`, `writerSchema`, `schemas`, `schemaId`, `registry.url`. */
export interface FormatProblem {
  field: string;
  message: string;
}
