import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RecordFactory } from '../../src/connectors/generator/records.js';
import { generatorSpec } from '../../src/connectors/generator/spec.js';
import { createAvroCodec, createAvroFormat, loadSchemaFile } from '../../src/formats/avro.js';
import { avroType } from '../../src/formats/avro-values.js';
import { createFormat, getFormat } from '../../src/formats/registry.js';
import type { Row } from '../../src/core/record.js';
import { parseConfig } from '../../src/core/spec.js';
import { thrown } from '../helpers/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'trib-avro-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeSchema(name: string, schema: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(schema));
  return path;
}

const everyKind = {
  type: 'record',
  name: 'Everything',
  namespace: 't',
  fields: [
    { name: 'n', type: 'null' },
    { name: 'b', type: 'boolean' },
    { name: 'i', type: 'int' },
    { name: 'l', type: 'long' },
    { name: 'big', type: 'long' },
    { name: 'f', type: 'float' },
    { name: 'd', type: 'double' },
    { name: 's', type: 'string' },
    { name: 'bytes', type: 'bytes' },
    { name: 'fx', type: { type: 'fixed', name: 'Four', size: 4 } },
    { name: 'e', type: { type: 'enum', name: 'Color', symbols: ['RED', 'GREEN'] } },
    { name: 'arr', type: { type: 'array', items: 'long' } },
    { name: 'm', type: { type: 'map', values: 'bytes' } },
    { name: 'rec', type: { type: 'record', name: 'Inner', fields: [{ name: 'x', type: 'int' }, { name: 'tags', type: { type: 'array', items: 'string' } }] } },
    { name: 'opt', type: ['null', 'string'] },
    { name: 'optRec', type: ['null', 'Inner'] },
    { name: 'optBytes', type: ['null', 'bytes'] },
    { name: 'either', type: [{ type: 'record', name: 'A', fields: [{ name: 'a', type: 'int' }] }, { type: 'record', name: 'B', fields: [{ name: 'b', type: 'string' }] }] },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'atNanos', type: { type: 'long', logicalType: 'timestamp-nanos' } },
  ],
};

const fullRow: Row = {
  n: null,
  b: true,
  i: -2_147_483_648,
  l: 9_007_199_254_740_991,
  big: '-9223372036854775808',
  f: 1.5,
  d: 1e300,
  s: '张三 ✓',
  bytes: Buffer.from([0, 1, 2, 255]).toString('base64'),
  fx: Buffer.from('abcd').toString('base64'),
  e: 'GREEN',
  arr: [1, '9223372036854775807', -3],
  m: { k1: Buffer.from('v').toString('base64') },
  rec: { x: 7, tags: ['a', 'b'] },
  opt: 'here',
  optRec: { x: 1, tags: [] },
  optBytes: Buffer.from('zz').toString('base64'),
  either: { b: 'bee' },
  at: 1_793_491_200_000,
  atNanos: '1793491200000000001',
};

describe('avro codec: values', () => {
  const codec = createAvroCodec(avroType(everyKind));

  it('round-trips every field kind without loss', () => {
    const bytes = codec.encode(fullRow);
    expect(codec.decode(bytes)).toEqual(fullRow);
    // Optionals as null, and the other branch of a record union.
    const nulls = { ...fullRow, opt: null, optRec: null, optBytes: null, either: { a: 3 } };
    expect(codec.decode(codec.encode(nulls))).toEqual(nulls);
  });

  it('keeps longs beyond 2^53 exact as decimal strings and safe longs as numbers', () => {
    const row = codec.decode(codec.encode({ ...fullRow, big: '9007199254740993', l: -5 }));
    expect(row.big).toBe('9007199254740993');
    expect(row.l).toBe(-5);
    // A big long given as a string that is actually safe comes back as a number.
    expect(codec.decode(codec.encode({ ...fullRow, big: '42' })).big).toBe(42);
  });

  it('decodes plain JS objects (not avsc record instances) that JSON round-trips', () => {
    const row = codec.decode(codec.encode(fullRow));
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(row.rec)).toBe(Object.prototype);
    expect(JSON.parse(JSON.stringify(row))).toEqual(fullRow);
  });

  it('fills fields left out of a row with their schema defaults', () => {
    const c = createAvroCodec(avroType({ type: 'record', name: 'D', fields: [{ name: 'a', type: 'int' }, { name: 'tier', type: 'string', default: 'basic' }] }));
    expect(c.decode(c.encode({ a: 1 }))).toEqual({ a: 1, tier: 'basic' });
  });
});

describe('avro codec: encode validates', () => {
  const codec = createAvroCodec(avroType(everyKind));

  it.each([
    [{ ...fullRow, i: 'seven' }, /i: expected int, got "seven"/],
    [{ ...fullRow, l: 1.5 }, /l: expected long, got 1.5/],
    [{ ...fullRow, big: '99999999999999999999' }, /big: expected long/],
    [{ ...fullRow, e: 'BLUE' }, /e: expected t\.Color, got "BLUE"/],
    [{ ...fullRow, fx: Buffer.from('abcdef').toString('base64') }, /fx: expected t\.Four, got 6 bytes/],
    [{ ...fullRow, bytes: 'not base64!' }, /bytes: expected bytes, got "not base64!"/],
    [{ ...fullRow, rec: { x: 1 } }, /rec\.tags: expected array, got missing/],
    [{ ...fullRow, extra: 1 }, /extra: field not in schema t\.Everything/],
    [{ ...fullRow, rec: { x: 1, tags: [], y: 2 } }, /rec\.y: field not in schema t\.Inner/],
    [{ ...fullRow, either: { c: true } }, /either: matches no branch of union \["t\.A","t\.B"\]/],
  ])('rejects %#', (row, reason) => {
    const err = thrown(() => codec.encode(row as Row));
    expect(err.code).toBe('TRIB_RECORD_INVALID');
    expect(err.message).toMatch(/^row does not match Avro schema t\.Everything: /);
    expect(err.message).toMatch(reason);
  });

  it('rejects a row missing a field without default', () => {
    const { s: _s, ...row } = fullRow;
    expect(thrown(() => codec.encode(row)).message).toMatch(/s: expected string, got missing/);
  });
});

describe('avro codec: bad records', () => {
  const codec = createAvroCodec(avroType(everyKind));
  const good = codec.encode(fullRow);

  it.each([
    ['truncated', good.subarray(0, good.length - 3), /invalid Avro for t\.Everything \(\d+ bytes\): truncated buffer/],
    ['trailing bytes', Buffer.concat([good, Buffer.from([1, 2])]), /trailing data/],
    ['garbage', Buffer.from('definitely not avro at all, just text'), /invalid Avro for t\.Everything/],
    ['empty', Buffer.alloc(0), /truncated buffer/],
  ])('%s → TRIB_RECORD_INVALID', (_name, bytes, reason) => {
    const err = thrown(() => codec.decode(bytes));
    expect(err.code).toBe('TRIB_RECORD_INVALID');
    expect(err.message).toMatch(reason);
  });
});

describe('example schemas match the generator', () => {
  it.each([
    ['loan-applications', 'loan_application.avsc'],
    ['device-events', 'device_event.avsc'],
  ] as const)('%s rows round-trip through schemas/%s', (preset, file) => {
    const factory = new RecordFactory(parseConfig(generatorSpec, { preset, rate: 0, keys: 100, seed: 11 }));
    const format = createFormat({ type: 'avro', schema: join('schemas', file) }, { baseDir: process.cwd() });
    for (let i = 0; i < 50; i++) {
      const row = factory.record(i % 3, i).value as Row;
      expect(format.decode(format.encode(row))).toEqual(row);
    }
  });

  it('a generator row with a wrongly typed amount is refused', () => {
    const format = createFormat({ type: 'avro', schema: 'schemas/loan_application.avsc' });
    const factory = new RecordFactory(parseConfig(generatorSpec, { preset: 'loan-applications', rate: 0, keys: 10, seed: 1 }));
    const row = { ...(factory.record(0, 0).value as Row), amount: '12.00 CNY' };
    expect(thrown(() => format.encode(row)).message).toMatch(/amount: expected long, got "12\.00 CNY"/);
  });
});

describe('avro format configuration', () => {
  it('is built by createFormat; getFormat keeps json only', () => {
    const path = writeSchema('one.avsc', { type: 'record', name: 'One', fields: [{ name: 'a', type: 'int' }] });
    const format = createFormat({ type: 'avro', schema: path });
    expect(format.name).toBe('avro');
    expect(format.decode(format.encode({ a: 3 }))).toEqual({ a: 3 });
    expect(getFormat('json').name).toBe('json');
  });

  it('resolves relative schema paths from baseDir', () => {
    writeSchema('rel.avsc', { type: 'record', name: 'Rel', fields: [{ name: 'a', type: 'int' }] });
    expect(createAvroFormat({ schema: 'rel.avsc', baseDir: dir }).decode(new Uint8Array([4]))).toEqual({ a: 2 });
  });

  it('reports missing and invalid schema files as usage errors', () => {
    expect(thrown(() => loadSchemaFile(join(dir, 'nope.avsc'))).message).toMatch(/cannot read Avro schema .*nope\.avsc/);
    const notJson = join(dir, 'bad.avsc');
    writeFileSync(notJson, '{ nope');
    expect(thrown(() => loadSchemaFile(notJson)).message).toMatch(/invalid Avro schema in .*bad\.avsc: not JSON/);
    const badType = writeSchema('badtype.avsc', { type: 'record', name: 'X', fields: [{ name: 'a', type: 'integer' }] });
    const err = thrown(() => loadSchemaFile(badType));
    expect(err.code).toBe('TRIB_USAGE');
    expect(err.message).toMatch(/undefined type name: integer/);
  });

  it('refuses text values', () => {
    const path = writeSchema('two.avsc', { type: 'record', name: 'Two', fields: [{ name: 'a', type: 'int' }] });
    expect(thrown(() => createFormat({ type: 'avro', schema: path }).decode('{"a":1}')).message).toMatch(/got text, expected binary/);
  });
});
