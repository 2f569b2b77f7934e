import type { Row } from '../runtime/record.js';

/** How a source's bytes/text become rows and rows become bytes (json now, avro later). */
export interface Format {
  readonly name: string;
  /** Throws TributaryError('TRIB_RECORD_INVALID') for a value that is not a valid row. */
  decode(value: Uint8Array | string): Row;
  encode(row: Row): Uint8Array;
}
