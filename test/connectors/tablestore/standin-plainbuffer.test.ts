/**
 * The wire-level stand-in's PlainBuffer codec (written from the published format) against the
 * official SDK's: what the SDK encodes decodes to the same cells with valid CRC-8 checksums, what
 * the stand-in encodes the SDK reads back, and a flipped checksum is refused.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { CELL_OP, decodeRow, decodeVariant, encodeRows, type PbRow } from '../../helpers/tablestore-plainbuffer.js';

const require = createRequire(import.meta.url);
interface SdkLong { toString(): string }
const TS = require('tablestore') as {
  Long: { fromString(s: string): SdkLong };
  INF_MIN: object;
  INF_MAX: object;
  PlainBufferBuilder: {
    serializeForPutRow(pk: unknown[], attrs: unknown[]): Uint8Array;
    serializeForUpdateRow(pk: unknown[], attrs: unknown[]): Uint8Array;
    serializeForDeleteRow(pk: unknown[]): Uint8Array;
    serializePrimaryKey(pk: unknown[]): Uint8Array;
    serializeColumnValue(v: unknown): Uint8Array;
  };
  PlainBufferInputStream: new (b: { buffer: ArrayBufferLike; offset: number; limit: number }) => unknown;
  PlainBufferCodedInputStream: new (s: unknown) => { readRows(): Array<{ primaryKey: Array<{ name: string; value: unknown }>; attributes: Array<{ columnName: string; columnValue: unknown; timestamp: unknown }> }> };
};
const B = TS.PlainBufferBuilder;

describe('wire-level stand-in PlainBuffer codec', () => {
  it('decodes the SDK\'s PutRow rows: every value type, timestamps, checksums', () => {
    const bytes = B.serializeForPutRow([{ user: 'ü-1' }, { seq: TS.Long.fromString('-42') }], [
      { s: 'text ✓' }, { i: TS.Long.fromString('9223372036854775807') }, { d: 2.5 }, { b: true }, { bin: Buffer.from([0, 255]) }, { t: 'x', timestamp: 1234 },
    ]);
    expect(decodeRow(bytes)).toEqual({
      pk: [{ name: 'user', value: { type: 'string', value: 'ü-1' } }, { name: 'seq', value: { type: 'integer', value: -42n } }],
      cells: [
        { name: 's', value: { type: 'string', value: 'text ✓' } },
        { name: 'i', value: { type: 'integer', value: 2n ** 63n - 1n } },
        { name: 'd', value: { type: 'double', value: 2.5 } },
        { name: 'b', value: { type: 'boolean', value: true } },
        { name: 'bin', value: { type: 'binary', value: Buffer.from([0, 255]) } },
        { name: 't', value: { type: 'string', value: 'x' }, timestamp: 1234n },
      ],
      deleteMarker: false,
    } satisfies PbRow);
  });

  it('decodes the SDK\'s UpdateRow cell ops, DeleteRow markers, INF_MIN/INF_MAX keys and filter values', () => {
    const update = decodeRow(B.serializeForUpdateRow([{ k: 'a' }], [{ PUT: [{ x: 1.5 }] }, { DELETE_ALL: ['gone'] }, { DELETE: [{ old: 77 }] }]));
    expect(update.cells).toEqual([
      { name: 'x', value: { type: 'double', value: 1.5 } },
      { name: 'gone', op: CELL_OP.DELETE_ALL_VERSION },
      { name: 'old', op: CELL_OP.DELETE_ONE_VERSION, timestamp: 77n },
    ]);
    expect(decodeRow(B.serializeForDeleteRow([{ k: 'a' }])).deleteMarker).toBe(true);
    expect(decodeRow(B.serializePrimaryKey([{ a: TS.INF_MIN }, { b: TS.INF_MAX }])).pk.map((c) => c.value)).toEqual([{ type: 'inf_min' }, { type: 'inf_max' }]);
    expect(decodeVariant(B.serializeColumnValue(TS.Long.fromString('5')))).toEqual({ type: 'integer', value: 5n });
    expect(decodeVariant(B.serializeColumnValue(true))).toEqual({ type: 'boolean', value: true });
  });

  it('encodes rows the SDK reads back (GetRange answers), and refuses a flipped checksum', () => {
    const rows: PbRow[] = [
      { pk: [{ name: 'k', value: { type: 'string', value: 'a' } }], cells: [{ name: 'n', value: { type: 'integer', value: 3n }, timestamp: 99n }, { name: 's', value: { type: 'string', value: 'é' }, timestamp: 99n }], deleteMarker: false },
      { pk: [{ name: 'k', value: { type: 'string', value: 'b' } }], cells: [{ name: 'f', value: { type: 'boolean', value: false }, timestamp: 1n }], deleteMarker: false },
    ];
    const bytes = encodeRows(rows);
    const read = new TS.PlainBufferCodedInputStream(new TS.PlainBufferInputStream({ buffer: bytes.buffer, offset: bytes.byteOffset, limit: bytes.byteOffset + bytes.length })).readRows();
    expect(read.map((r) => [r.primaryKey.map((p) => p.value), r.attributes.map((a) => [a.columnName, String(a.columnValue)])])).toEqual([
      [['a'], [['n', '3'], ['s', 'é']]],
      [['b'], [['f', 'false']]],
    ]);
    const put = Buffer.from(B.serializeForPutRow([{ k: 'a' }], [{ x: 'y' }]));
    put[put.length - 1]! ^= 0x5a;
    expect(() => decodeRow(put)).toThrow(/row checksum mismatch/);
  });
});
