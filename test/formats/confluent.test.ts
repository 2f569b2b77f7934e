import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TributaryError } from '../../src/core/errors.js';
import { createAvroCodec } from '../../src/formats/avro.js';
import { avroType } from '../../src/formats/avro-values.js';
import { confluentSchemaId, frameConfluent } from '../../src/formats/confluent.js';
import { createFormat } from '../../src/formats/registry.js';
import type { Format } from '../../src/formats/types.js';

const dir = mkdtempSync(join(tmpdir(), 'trib-confluent-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const userV1 = { type: 'record', name: 'User', namespace: 'c', fields: [{ name: 'id', type: 'string' }, { name: 'age', type: 'int' }] };
const userV2 = {
  type: 'record',
  name: 'User',
  namespace: 'c',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'age', type: 'long' },
    { name: 'city', type: ['null', 'string'], default: null },
  ],
};
const unrelated = { type: 'record', name: 'Other', namespace: 'c', fields: [{ name: 'x', type: 'boolean' }] };

const idsFile = join(dir, 'ids.json');
writeFileSync(idsFile, JSON.stringify({ 1: userV1, 2: userV2, 7: unrelated }));
const readerFile = join(dir, 'user-v2.avsc');
writeFileSync(readerFile, JSON.stringify(userV2));

const v1Body = createAvroCodec(avroType(userV1)).encode({ id: 'u1', age: 30 });
const v2Body = createAvroCodec(avroType(userV2)).encode({ id: 'u2', age: 41, city: 'Hangzhou' });

function invalid(format: Format, value: Uint8Array | string): string {
  try {
    format.decode(value);
  } catch (err) {
    expect(err).toBeInstanceOf(TributaryError);
    expect((err as TributaryError).code).toBe('TRIB_RECORD_INVALID');
    return (err as TributaryError).message;
  }
  throw new Error('decoded without error');
}

describe('Confluent framing', () => {
  it('is magic 0 + big-endian schema id + body', () => {
    const framed = frameConfluent(0x01020304, new Uint8Array([9, 9]));
    expect([...framed]).toEqual([0, 1, 2, 3, 4, 9, 9]);
    expect(confluentSchemaId(framed)).toBe(0x01020304);
    expect(confluentSchemaId(frameConfluent(4_000_000_000, new Uint8Array()))).toBe(4_000_000_000);
  });
});

describe('confluent-avro with a local id→schema file', () => {
  const byWriter = createFormat({ type: 'confluent-avro', schemas: idsFile });
  const byReader = createFormat({ type: 'confluent-avro', schemas: idsFile, schema: readerFile, schemaId: 2 });

  it('decodes each record with the schema its id names', () => {
    expect(byWriter.decode(frameConfluent(1, v1Body))).toEqual({ id: 'u1', age: 30 });
    expect(byWriter.decode(frameConfluent(2, v2Body))).toEqual({ id: 'u2', age: 41, city: 'Hangzhou' });
  });

  it('resolves old writers into the reader schema', () => {
    expect(byReader.decode(frameConfluent(1, v1Body))).toEqual({ id: 'u1', age: 30, city: null });
    expect(byReader.decode(frameConfluent(2, v2Body))).toEqual({ id: 'u2', age: 41, city: 'Hangzhou' });
  });

  it('encodes rows framed with the configured id', () => {
    const bytes = byReader.encode({ id: 'u3', age: 5, city: null });
    expect(confluentSchemaId(bytes)).toBe(2);
    expect(byWriter.decode(bytes)).toEqual({ id: 'u3', age: 5, city: null });
    expect(() => byWriter.encode({ id: 'u3', age: 5 })).toThrow(/cannot encode without schemaId/);
    expect(() => byReader.encode({ id: 'u3', age: 'five' })).toThrow(/age: expected long, got "five"/);
  });

  it('turns poison records into TRIB_RECORD_INVALID with short reasons', () => {
    expect(invalid(byWriter, frameConfluent(99, v1Body))).toMatch(/^unknown schema id 99 \(not in .*ids\.json\)$/);
    expect(invalid(byWriter, Buffer.concat([Buffer.from([1]), frameConfluent(1, v1Body).subarray(1)]))).toBe('not Confluent framing (magic byte 1)');
    expect(invalid(byWriter, new TextEncoder().encode('{"id":"u1"}'))).toBe('not Confluent framing (magic byte 123)');
    expect(invalid(byWriter, new Uint8Array([0, 0, 1]))).toBe('not Confluent framing (3 bytes, header needs 5)');
    expect(invalid(byWriter, new Uint8Array([]))).toBe('not Confluent framing (0 bytes, header needs 5)');
    expect(invalid(byWriter, new Uint8Array([7]))).toBe('not Confluent framing (magic byte 7)');
    expect(invalid(byWriter, '{"id":"u1"}')).toMatch(/got text/);
    expect(invalid(byWriter, frameConfluent(1, v1Body.subarray(0, 2)))).toMatch(/^schema id 1: invalid Avro for c\.User \(2 bytes\): truncated buffer$/);
    expect(invalid(byWriter, frameConfluent(2, Buffer.from([2, 0x41, 4, 9, 9, 9])))).toMatch(/^schema id 2: invalid Avro/);
    // An id whose schema the reader cannot read: the record is bad, the worker goes on.
    expect(invalid(byReader, frameConfluent(7, Buffer.from([1])))).toMatch(/^schema id 7 cannot be read with the reader schema/);
    // Remembered per id: the second record of that id gets the same reason.
    expect(invalid(byReader, frameConfluent(7, Buffer.from([1])))).toMatch(/^schema id 7 cannot be read/);
    // ...and good records still decode after all that.
    expect(byReader.decode(frameConfluent(1, v1Body))).toEqual({ id: 'u1', age: 30, city: null });
  });

  it('refuses a broken id file at configuration time', () => {
    const bad = join(dir, 'bad-ids.json');
    writeFileSync(bad, JSON.stringify({ one: userV1 }));
    expect(() => createFormat({ type: 'confluent-avro', schemas: bad })).toThrow(/'one' is not a schema id/);
    writeFileSync(bad, JSON.stringify({ 3: { type: 'nonsense' } }));
    expect(() => createFormat({ type: 'confluent-avro', schemas: bad })).toThrow(/id 3: not a valid Avro schema/);
    expect(() => createFormat({ type: 'confluent-avro' })).toThrow(/needs 'registry'.* or 'schemas'/);
  });
});
