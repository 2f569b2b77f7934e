import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TributaryError } from '../../src/core/errors.js';
import { createFormat } from '../../src/formats/registry.js';

const dir = mkdtempSync(join(tmpdir(), 'trib-avro-evo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function schemaFile(name: string, fields: unknown[]): string {
  const path = join(dir, `${name}.avsc`);
  writeFileSync(path, JSON.stringify({ type: 'record', name: 'Event', namespace: 'evo', fields }));
  return path;
}

// v1 → v2: `channel` added with a default, `legacy` removed, `count` int→long, `score` int→float,
// `amount` long→double.
const v1 = schemaFile('v1', [
  { name: 'id', type: 'string' },
  { name: 'count', type: 'int' },
  { name: 'score', type: 'int' },
  { name: 'amount', type: 'long' },
  { name: 'legacy', type: 'string' },
]);
const v2 = schemaFile('v2', [
  { name: 'id', type: 'string' },
  { name: 'count', type: 'long' },
  { name: 'score', type: 'float' },
  { name: 'amount', type: 'double' },
  { name: 'channel', type: 'string', default: 'app' },
]);

describe('avro writer → reader schema evolution', () => {
  it('reads old data with a newer schema: default for the added field, removed field dropped, numbers promoted', () => {
    const writer = createFormat({ type: 'avro', schema: v1 });
    const reader = createFormat({ type: 'avro', schema: v2, writerSchema: v1 });
    const bytes = writer.encode({ id: 'e1', count: 2_000_000_000, score: 7, amount: 123_456_789, legacy: 'x' });
    expect(reader.decode(bytes)).toEqual({ id: 'e1', count: 2_000_000_000, score: 7, amount: 123_456_789, channel: 'app' });
  });

  it('reads new data with an older schema when the change is compatible that way', () => {
    // v2 → v1 is not compatible (v1 needs `legacy`, has no default; long cannot be read as int).
    expect(() => createFormat({ type: 'avro', schema: v1, writerSchema: v2 })).toThrow(/writer schema evo\.Event cannot be read as evo\.Event/);
    // A v1 reader with a default for `legacy` and the same number types reads v3 data fine.
    const v1b = schemaFile('v1b', [
      { name: 'id', type: 'string' },
      { name: 'legacy', type: 'string', default: 'none' },
    ]);
    const v3 = schemaFile('v3', [
      { name: 'id', type: 'string' },
      { name: 'channel', type: 'string' },
      { name: 'tags', type: { type: 'array', items: 'string' } },
    ]);
    const bytes = createFormat({ type: 'avro', schema: v3 }).encode({ id: 'e2', channel: 'web', tags: ['a'] });
    expect(createFormat({ type: 'avro', schema: v1b, writerSchema: v3 }).decode(bytes)).toEqual({ id: 'e2', legacy: 'none' });
  });

  it('without the writer schema, old data that does not parse as the new schema is a bad record, not a crash', () => {
    const bytes = createFormat({ type: 'avro', schema: v1 }).encode({ id: 'e1', count: 1, score: 1, amount: 1, legacy: 'abcdefgh' });
    let err: unknown;
    try {
      createFormat({ type: 'avro', schema: v2 }).decode(bytes);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TributaryError);
    expect((err as TributaryError).code).toBe('TRIB_RECORD_INVALID');
  });
});
