import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../src/core/errors.js';
import { jsonFormat } from '../../src/formats/json.js';
import { decodeValue, formats, getFormat } from '../../src/formats/registry.js';

function decodeError(value: Uint8Array | string): TributaryError {
  try {
    jsonFormat.decode(value);
  } catch (err) {
    expect(err).toBeInstanceOf(TributaryError);
    return err as TributaryError;
  }
  throw new Error(`decoded ${String(value)} without error`);
}

describe('json format', () => {
  it('decodes objects from text and from UTF-8 bytes', () => {
    expect(jsonFormat.decode('{"user_id":"u1","amount":100,"tags":["a"]}')).toEqual({ user_id: 'u1', amount: 100, tags: ['a'] });
    expect(jsonFormat.decode(new TextEncoder().encode('{"name":"张三"}'))).toEqual({ name: '张三' });
  });

  it('rejects invalid JSON as a bad record, quoting the text', () => {
    const err = decodeError('{"oops');
    expect(err.code).toBe('TRIB_RECORD_INVALID');
    expect(err.message).toMatch(/^invalid JSON: .* in "\{\\"oops"$/);
  });

  it('rejects JSON that is not an object', () => {
    expect(decodeError('[1,2]').message).toMatch(/expected a JSON object, got an array/);
    expect(decodeError('null').message).toMatch(/got null/);
    expect(decodeError('42').message).toMatch(/got a number/);
    expect(decodeError('"text"').code).toBe('TRIB_RECORD_INVALID');
  });

  it('rejects bytes that are not UTF-8', () => {
    expect(decodeError(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])).message).toMatch(/not UTF-8/);
  });

  it('shortens long text in messages', () => {
    expect(decodeError(`{"blob":"${'x'.repeat(500)}`).message.length).toBeLessThan(200);
  });

  it('encodes rows as UTF-8 JSON that decodes back', () => {
    const row = { user_id: 'u1', amount: 1.5, ok: true, none: null, nested: { list: [1, 'two'] } };
    const bytes = jsonFormat.encode(row);
    expect(new TextDecoder().decode(bytes)).toBe(JSON.stringify(row));
    expect(jsonFormat.decode(bytes)).toEqual(row);
  });
});

describe('format registry', () => {
  it('finds json and names the known formats otherwise', () => {
    expect(formats.json).toBe(jsonFormat);
    expect(getFormat('json')).toBe(jsonFormat);
    expect(() => getFormat('avro')).toThrow(/unknown format 'avro' \(known: json\)/);
    expect(() => getFormat('constructor')).toThrow(/unknown format/);
  });

  it('decodes text and bytes with the format and passes rows through', () => {
    const row = { a: 1 };
    expect(decodeValue(jsonFormat, row)).toBe(row);
    expect(decodeValue(jsonFormat, '{"a":2}')).toEqual({ a: 2 });
    expect(() => decodeValue(jsonFormat, '{"oops')).toThrow(TributaryError);
  });
});
