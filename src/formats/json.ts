import { TributaryError, errorMessage } from '../core/errors.js';
import type { Row } from '../core/record.js';
import { ByteArena } from './json-bytes.js';
import type { Format } from './types.js';

// fatal: invalid UTF-8 is a bad record, not silently replaced characters in a feature key.
const decoder = new TextDecoder('utf-8', { fatal: true });

function preview(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);
}

/** Small chunks: one encoded row that something keeps holds its whole chunk, as a pooled Buffer holds 8 KiB. */
const arena = new ByteArena(32 * 1024);

export const jsonFormat: Format = {
  name: 'json',
  decode(value: Uint8Array | string): Row {
    let text: string;
    if (typeof value === 'string') {
      text = value;
    } else {
      try {
        text = decoder.decode(value);
      } catch (err) {
        throw new TributaryError('TRIB_RECORD_INVALID', `invalid JSON: not UTF-8 text (${value.length} bytes)`, { cause: err });
      }
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new TributaryError('TRIB_RECORD_INVALID', `invalid JSON: ${errorMessage(err)} in ${preview(text)}`, { cause: err });
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      const got = parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : `a ${typeof parsed}`;
      throw new TributaryError('TRIB_RECORD_INVALID', `invalid record: expected a JSON object, got ${got} in ${preview(text)}`);
    }
    return parsed as Row;
  },
  encode(row: Row): Uint8Array {
    // The bytes of JSON.stringify(row), written straight into a shared chunk (json-bytes.ts):
    // they share an ArrayBuffer with other rows, as pooled Buffers do: respect byteOffset.
    const bytes = arena.json(row);
    if (bytes === undefined) throw new TributaryError('TRIB_RECORD_INVALID', 'the row has no JSON form (its toJSON returned undefined)');
    return bytes;
  },
};
