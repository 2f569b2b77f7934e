/** The one list of formats a source may name (`format: json`). Avro joins here. */
import { TributaryError } from '../errors.js';
import type { RawRecord } from '../connectors/types.js';
import type { Row } from '../runtime/record.js';
import { jsonFormat } from './json.js';
import type { Format } from './types.js';

export type { Format } from './types.js';

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
