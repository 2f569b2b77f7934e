import { TributaryError, errorMessage } from '../core/errors.js';
import type { Row } from '../core/record.js';
import type { Format } from './types.js';

// fatal: invalid UTF-8 is a bad record, not silently replaced characters in a feature key.
const decoder = new TextDecoder('utf-8', { fatal: true });

function preview(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);
}

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
    // Buffer.from, not TextEncoder.encode: ~3x faster on Node 20 for the small rows a sink
    // writes per record. The bytes may share a pooled ArrayBuffer: respect byteOffset.
    return Buffer.from(JSON.stringify(row), 'utf8');
  },
};
