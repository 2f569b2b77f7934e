/**
 * Encoding rows as Avro (what the Kafka sink writes): decode and encode are mirrors, so rows
 * decoded from Avro encode back to the same bytes and randomized rows round-trip unchanged
 * (seeded; the seed is in the failure message, rerun with SEED=<n>); rows the schema cannot hold
 * fail with the path of the field; Confluent framing gets its id from schemaId, an id file
 * (canonical compare) or a Schema Registry (POST /subjects/<subject>/versions).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import avsc from 'avsc';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Rng } from '../../src/connectors/generator/prng.js';
import { createAvroCodec } from '../../src/formats/avro.js';
import { avroType } from '../../src/formats/avro-values.js';
import { confluentSchemaId } from '../../src/formats/confluent.js';
import { createFormat, formatProblems } from '../../src/formats/registry.js';
import type { Row, Value } from '../../src/core/record.js';
import { startFakeRegistry, type FakeRegistry } from '../helpers/schema-registry.js';
import { thrown, rejected } from '../helpers/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'trib-avro-encode-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const feature = {
  type: 'record',
  name: 'UserFeature',
  namespace: 'features',
  doc: 'Rolling features per user',
  fields: [
    { name: 'user_id', type: 'string' },
    { name: 'window_start', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'at_micros', type: { type: 'long', logicalType: 'timestamp-micros' } },
    { name: 'day', type: { type: 'int', logicalType: 'date' } },
    { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 12, scale: 2 } },
    { name: 'price', type: { type: 'fixed', name: 'Price', size: 8, logicalType: 'decimal', precision: 16, scale: 4 } },
    { name: 'count', type: 'long' },
    { name: 'avg', type: ['null', 'double'], default: null },
    { name: 'score', type: 'float' },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'attrs', type: { type: 'map', values: 'long' } },
    { name: 'tier', type: { type: 'enum', name: 'Tier', symbols: ['BASIC', 'GOLD'] } },
    { name: 'id_or_name', type: ['null', 'long', 'string'] },
    { name: 'small_or_big', type: ['int', 'long'] },
    { name: 'geo', type: { type: 'record', name: 'Geo', fields: [{ name: 'lat', type: 'double' }, { name: 'lon', type: 'double' }] } },
    { name: 'last_geo', type: ['null', 'Geo'], default: null },
    { name: 'flag', type: 'boolean' },
    { name: 'channel', type: 'string', default: 'app' },
  ],
};

/** Seeded uniform [0, 1) (the generator source's mulberry32). */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

/** A row as decode produces it: safe longs as numbers, others as decimal strings, bytes as base64. */
function randomRow(r: () => number, bigLongs: boolean): Row {
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const long = (): Value => {
    if (bigLongs && r() < 0.3) {
      const big = (BigInt(int(0, 2 ** 31)) << 32n) | BigInt(int(0, 2 ** 32 - 1));
      const n = r() < 0.5 ? -big - 2n ** 53n : big + 2n ** 53n;
      return (n > 2n ** 63n - 1n ? 2n ** 63n - 1n : n < -(2n ** 63n) ? -(2n ** 63n) : n).toString();
    }
    return int(-(2 ** 40), 2 ** 40);
  };
  const str = () => ['', 'u1', '张三', 'a"b\\c', '✓ 🚀', 'x'.repeat(int(0, 40))][int(0, 5)]!;
  const bytes = (n?: number) => Buffer.from(Array.from({ length: n ?? int(0, 12) }, () => int(0, 255))).toString('base64');
  const geo = () => ({ lat: r() * 180 - 90, lon: r() * 360 - 180 });
  const choice = int(0, 2);
  return {
    user_id: str(),
    window_start: int(0, 2 ** 42),
    at_micros: long(),
    day: int(-100_000, 100_000),
    amount: bytes(),
    price: bytes(8),
    count: long(),
    avg: r() < 0.3 ? null : r() * 1000,
    score: Math.fround(r() * 10),
    tags: Array.from({ length: int(0, 3) }, str),
    attrs: Object.fromEntries(Array.from({ length: int(0, 3) }, (_, i) => [`k${i}`, long()])),
    tier: r() < 0.5 ? 'BASIC' : 'GOLD',
    id_or_name: choice === 0 ? null : choice === 1 ? long() : r() < 0.5 ? `name-${int(0, 99)}` : String(int(0, 999)),
    small_or_big: r() < 0.5 ? int(-(2 ** 31), 2 ** 31 - 1) : int(2 ** 31, 2 ** 45),
    geo: geo(),
    last_geo: r() < 0.5 ? null : geo(),
    flag: r() < 0.5,
    channel: str(),
  };
}

describe('avro encode mirrors decode', () => {
  const codec = createAvroCodec(avroType(feature));
  // An independent Avro implementation: avsc as it comes (its own longs, its own union handling).
  const plain = avsc.Type.forSchema(feature as avsc.Schema);

  it('randomized rows round-trip unchanged; bytes re-encode identically and are what plain avsc writes', () => {
    const seed = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31));
    const r = rng(seed);
    for (let i = 0; i < 400; i++) {
      const bigLongs = i % 2 === 0;
      const row = randomRow(r, bigLongs);
      const bytes = codec.encode(row);
      const back = codec.decode(bytes);
      expect(back, `seed ${seed}, row ${i}`).toEqual(row);
      expect(Buffer.compare(codec.encode(back), bytes), `seed ${seed}, row ${i}: re-encoded bytes differ`).toBe(0);
      if (!bigLongs) {
        // Plain avsc reads our bytes and writes the very same bytes back: they are canonical Avro.
        const value = plain.fromBuffer(bytes);
        expect(Buffer.compare(plain.toBuffer(value), bytes), `seed ${seed}, row ${i}: plain avsc disagrees`).toBe(0);
      }
    }
  });

  it('bytes another writer produced (logical types included) decode to rows that encode to the same bytes', () => {
    const value = {
      user_id: 'u1', window_start: 1_700_000_000_123, at_micros: 1_700_000_000_123_456, day: 19_700,
      amount: Buffer.from([0x30, 0x39]), price: Buffer.from([0, 0, 0, 0, 0, 0x01, 0xe2, 0x40]), count: 42, avg: 12.5, score: 0.5,
      tags: ['a'], attrs: { n: 7 }, tier: 'GOLD', id_or_name: 'bob', small_or_big: { long: 5 }, geo: { lat: 1, lon: 2 }, last_geo: null,
      flag: true, channel: 'web',
    };
    const written = plain.toBuffer(value);
    const row = codec.decode(written);
    expect(row).toMatchObject({ window_start: 1_700_000_000_123, at_micros: 1_700_000_000_123_456, day: 19_700, amount: 'MDk=', small_or_big: 5 });
    const again = codec.encode(row);
    // The one difference a mirror cannot avoid: a union of int and long takes 5 as its int.
    expect(plain.fromBuffer(again)).toEqual({ ...value, small_or_big: { int: 5 } });
    expect(codec.decode(again)).toEqual(row);
  });

  it('in a union of long and string, a string stays a string (also one that reads as a number) and a long a long', () => {
    const row = randomRow(rng(7), false);
    for (const v of ['9007199254740993', '42', 42, 9007199254740991, 'hello', null]) {
      expect(codec.decode(codec.encode({ ...row, id_or_name: v })).id_or_name).toEqual(v);
    }
  });
});

describe('avro encode rejects rows the schema cannot hold, naming the field', () => {
  const format = createFormat({ type: 'avro', schema: write('feature.avsc', JSON.stringify(feature)) });
  const row = randomRow(rng(11), false);
  const { user_id: _dropped, ...withoutUser } = row;

  it.each([
    ['a missing required field', withoutUser, /user_id: expected string, got missing/],
    ['a wrong type', { ...row, count: 'many' }, /count: expected long, got "many"/],
    ['a long beyond int64', { ...row, count: '9223372036854775808' }, /count: expected long/],
    ['a nested field', { ...row, geo: { lat: 'north', lon: 1 } }, /geo\.lat: expected double, got "north"/],
    ['a field the schema does not have', { ...row, extra: 1 }, /extra: field not in schema features\.UserFeature/],
    ['an enum symbol the schema lacks', { ...row, tier: 'PLATINUM' }, /tier: expected .*got "PLATINUM"/],
    ['a timestamp given as text', { ...row, window_start: '2024-01-01T00:00:00Z' }, /window_start: expected long, got "2024-01-01T00:00:00Z"/],
  ])('%s', (_what, bad, reason) => {
    const err = thrown(() => format.encode(bad as Row));
    expect(err.code).toBe('TRIB_RECORD_INVALID');
    expect(err.message).toMatch(/^row does not match Avro schema features\.UserFeature: /);
    expect(err.message).toMatch(reason);
  });
});

describe('confluent encode: the schema id', () => {
  const schemaFile = write('feature-conf.avsc', JSON.stringify(feature));
  // The same schema as the registry stored it: reformatted, with other docs; plus an unrelated one.
  const stored = { ...feature, doc: 'as registered', fields: feature.fields.map((f) => ({ ...f })) };
  const other = { type: 'record', name: 'Other', fields: [{ name: 'x', type: 'int' }] };
  const idsFile = write('ids.json', JSON.stringify({ 3: other, 12: stored, 40: stored }, null, 2));
  const row = randomRow(rng(3), true);

  it('with an id file: the lowest id whose schema equals `schema` canonically', async () => {
    const format = createFormat({ type: 'confluent-avro', schema: schemaFile, schemas: idsFile }, { encode: true });
    await format.prepareEncode?.();
    const bytes = format.encode(row);
    expect([...bytes.subarray(0, 5)]).toEqual([0, 0, 0, 0, 12]);
    expect(createFormat({ type: 'confluent-avro', schemas: idsFile }).decode(bytes)).toEqual(row);
    expect(formatProblems({ type: 'confluent-avro', schema: schemaFile, schemas: idsFile }, { encode: true })).toEqual([]);
  });

  it('with an id file that lacks the schema, or a schemaId of another schema: a configuration error', async () => {
    const lacking = write('ids-lacking.json', JSON.stringify({ 3: other }));
    const format = createFormat({ type: 'confluent-avro', schema: schemaFile, schemas: lacking }, { encode: true });
    const err = await rejected(format.prepareEncode?.());
    expect(err.code).toBe('TRIB_USAGE');
    expect(err.message).toBe(`schema ${schemaFile} is in no entry of schema id file ${lacking}: add it under its registry id, or set schemaId`);
    expect(formatProblems({ type: 'confluent-avro', schema: schemaFile, schemas: lacking }, { encode: true })).toEqual([{ field: 'schemas', message: err.message }]);
    // Decoding needs no id for `schema`: a source with the same settings is fine.
    expect(formatProblems({ type: 'confluent-avro', schema: schemaFile, schemas: lacking })).toEqual([]);
    expect(formatProblems({ type: 'confluent-avro', schema: schemaFile, schemas: idsFile, schemaId: 3 }, { encode: true })).toEqual([
      { field: 'schemaId', message: `schema id 3 in ${idsFile} is not the schema of ${schemaFile}` },
    ]);
    expect(formatProblems({ type: 'confluent-avro', schemas: idsFile }, { encode: true })).toEqual([
      { field: 'schema', message: 'encoding needs schema (the .avsc rows are written with)' },
    ]);
  });

  it('schemaId alone: written as given, no lookup', async () => {
    const format = createFormat({ type: 'confluent-avro', schema: schemaFile, schemaId: 0x01020304 }, { encode: true });
    await format.prepareEncode?.();
    expect(confluentSchemaId(format.encode(row))).toBe(0x01020304);
  });
});

describe('confluent encode: registering with a Schema Registry', () => {
  const schemaFile = write('feature-reg.avsc', JSON.stringify(feature, null, 2));
  let registry: FakeRegistry;
  beforeAll(async () => {
    registry = await startFakeRegistry({ firstId: 100 });
  });
  afterAll(() => registry.close());
  beforeEach(() => {
    registry.requests.length = 0;
    registry.failNext.length = 0;
    registry.incompatible.clear();
  });

  const spec = (extra: object = {}) => ({ type: 'confluent-avro' as const, schema: schemaFile, registry: { url: registry.url, ...extra } });

  it('registers the schema as written under the subject, once, and frames rows with its id', async () => {
    const format = createFormat(spec({ username: 'writer', password: 'pw-123' }), { encode: true, subject: 'features-value' });
    await format.prepareEncode?.();
    await format.prepareEncode?.();
    expect(registry.requests).toHaveLength(1);
    const [req] = registry.requests;
    expect(req).toMatchObject({ method: 'POST', url: '/subjects/features-value/versions', contentType: 'application/vnd.schemaregistry.v1+json' });
    expect(JSON.parse(req!.body)).toEqual({ schema: JSON.stringify(feature) });
    expect(req!.authorization).toBe(`Basic ${Buffer.from('writer:pw-123').toString('base64')}`);
    expect(registry.subjects.get('features-value')).toEqual([100]);

    const row = randomRow(rng(5), true);
    const bytes = format.encode(row);
    expect([...bytes.subarray(0, 5)]).toEqual([0, 0, 0, 0, 100]);
    // A separate reader that only knows the registry decodes it.
    const reader = createFormat({ type: 'confluent-avro', registry: { url: registry.url } });
    await reader.prepare?.([bytes]);
    expect(reader.decode(bytes)).toEqual(row);

    // Another run registering the identical schema gets the same id (the registry is idempotent).
    const again = createFormat(spec(), { encode: true, subject: 'features-value' });
    await again.prepareEncode?.();
    expect(confluentSchemaId(again.encode(row))).toBe(100);
  });

  it('retries after 5xx and connection errors (retriable), then registers', async () => {
    const format = createFormat(spec(), { encode: true, subject: 'retry-value' });
    registry.failNext.push(503);
    const err = await rejected(format.prepareEncode?.());
    expect(err).toMatchObject({ code: 'TRIB_SINK', retriable: true });
    expect(err.message).toMatch(/answered HTTP 503 registering .*feature-reg\.avsc under subject 'retry-value'/);
    expect(() => format.encode(randomRow(rng(1), false))).toThrow(/await format\.prepareEncode\(\)/);
    await format.prepareEncode?.();
    expect(confluentSchemaId(format.encode(randomRow(rng(1), false)))).toBe(100);
    expect(registry.requests.map((r) => r.url)).toEqual(['/subjects/retry-value/versions', '/subjects/retry-value/versions']);

    const down = createFormat({ type: 'confluent-avro', schema: schemaFile, registry: { url: 'http://127.0.0.1:1' } }, { encode: true, subject: 'x-value' });
    expect(await rejected(down.prepareEncode?.())).toMatchObject({ code: 'TRIB_SINK', retriable: true, message: expect.stringMatching(/unreachable registering/) });
  });

  it('a refusal (409 incompatible, 401) is final, names the subject and never the password', async () => {
    registry.incompatible.add('strict-value');
    const format = createFormat(spec({ username: 'writer', password: 'pw-secret-9' }), { encode: true, subject: 'strict-value' });
    const err = await rejected(format.prepareEncode?.());
    expect(err).toMatchObject({ code: 'TRIB_SINK', retriable: false });
    expect(err.message).toMatch(/HTTP 409 registering .* under subject 'strict-value' \(the schema is incompatible .*\): Schema being registered is incompatible/);
    expect(err.message).not.toMatch(/pw-secret-9|writer/);
    registry.failNext.push(401);
    const auth = await rejected(createFormat(spec({ password: 'pw-secret-9' }), { encode: true, subject: 'a-value' }).prepareEncode?.());
    expect(auth).toMatchObject({ retriable: false, message: expect.stringMatching(/HTTP 401 .*check the registry username and password/) });
    expect(auth.message).not.toContain('pw-secret-9');
  });
});
