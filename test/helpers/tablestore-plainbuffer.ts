/**
 * TableStore's PlainBuffer row encoding, written from the published format (not from the SDK),
 * for the wire-level stand-in: it decodes what the SDK sends and encodes what the service answers.
 *
 *   buffer  = header:u32le(0x75) row+
 *   row     = TAG_ROW_PK cell* [TAG_ROW_DATA cell*] [TAG_DELETE_ROW_MARKER] TAG_ROW_CHECKSUM crc:u8
 *   cell    = TAG_CELL TAG_CELL_NAME len:u32le name [TAG_CELL_VALUE len:u32le value]
 *             [TAG_CELL_TYPE op:u8] [TAG_CELL_TIMESTAMP ts:i64le] TAG_CELL_CHECKSUM crc:u8
 *   value   = VT_INTEGER i64le | VT_DOUBLE f64le | VT_BOOLEAN u8 | VT_STRING/VT_BLOB len:u32le bytes
 *             | VT_INF_MIN | VT_INF_MAX | VT_AUTO_INCREMENT        (len counts the type byte)
 * Checksums are CRC-8 (polynomial 0x07): a cell's over name, value (type byte, then the payload;
 * strings as u32le length + bytes), timestamp, op; a row's over its cells' checksums, then one
 * byte 1/0 for the delete marker. A filter's column value is `value` without the length prefix.
 */

const TAG = { ROW_PK: 0x1, ROW_DATA: 0x2, CELL: 0x3, CELL_NAME: 0x4, CELL_VALUE: 0x5, CELL_TYPE: 0x6, CELL_TIMESTAMP: 0x7, DELETE_ROW_MARKER: 0x8, ROW_CHECKSUM: 0x9, CELL_CHECKSUM: 0xa } as const;
const VT = { INTEGER: 0x0, DOUBLE: 0x1, BOOLEAN: 0x2, STRING: 0x3, BLOB: 0x7, INF_MIN: 0x9, INF_MAX: 0xa, AUTO_INCREMENT: 0xb } as const;
export const HEADER = 0x75;
/** Cell ops of an UpdateRow cell. */
export const CELL_OP = { DELETE_ALL_VERSION: 0x1, DELETE_ONE_VERSION: 0x3, INCREMENT: 0x4 } as const;

export type PbValue =
  | { type: 'integer'; value: bigint }
  | { type: 'double'; value: number }
  | { type: 'boolean'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'binary'; value: Buffer }
  | { type: 'inf_min' | 'inf_max' | 'auto_increment' };

export interface PbCell {
  name: string;
  value?: PbValue;
  op?: number;
  timestamp?: bigint;
}

export interface PbRow {
  pk: PbCell[];
  cells: PbCell[];
  deleteMarker: boolean;
}

const CRC8_TABLE = ((): Uint8Array => {
  const t = new Uint8Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let b = 0; b < 8; b++) c = c & 0x80 ? ((c << 1) ^ 0x07) & 0xff : (c << 1) & 0xff;
    t[i] = c;
  }
  return t;
})();

export function crc8(crc: number, bytes: Uint8Array): number {
  for (const b of bytes) crc = CRC8_TABLE[(crc ^ b) & 0xff]!;
  return crc;
}

const u8 = (n: number): Buffer => Buffer.from([n & 0xff]);
const u32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };
const i64 = (n: bigint): Buffer => { const b = Buffer.alloc(8); b.writeBigInt64LE(n); return b; };
const f64 = (n: number): Buffer => { const b = Buffer.alloc(8); b.writeDoubleLE(n); return b; };

/** The value's type byte and payload (without the cell's length prefix). */
export function encodeVariant(v: PbValue): Buffer {
  switch (v.type) {
    case 'integer': return Buffer.concat([u8(VT.INTEGER), i64(v.value)]);
    case 'double': return Buffer.concat([u8(VT.DOUBLE), f64(v.value)]);
    case 'boolean': return Buffer.from([VT.BOOLEAN, v.value ? 1 : 0]);
    case 'string': { const s = Buffer.from(v.value, 'utf8'); return Buffer.concat([u8(VT.STRING), u32(s.length), s]); }
    case 'binary': return Buffer.concat([u8(VT.BLOB), u32(v.value.length), v.value]);
    case 'inf_min': return u8(VT.INF_MIN);
    case 'inf_max': return u8(VT.INF_MAX);
    case 'auto_increment': return u8(VT.AUTO_INCREMENT);
  }
}

export class PlainBufferError extends Error {}

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}
  get atEnd(): boolean { return this.pos >= this.buf.length; }
  peek(): number { return this.atEnd ? 0 : this.buf[this.pos]!; }
  take(n: number): Buffer {
    if (this.pos + n > this.buf.length) throw new PlainBufferError(`PlainBuffer ends inside a field (need ${n} bytes at ${this.pos})`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  byte(): number { return this.take(1)[0]!; }
  u32(): number { return this.take(4).readUInt32LE(); }
  expect(tag: number, what: string): void {
    const got = this.byte();
    if (got !== tag) throw new PlainBufferError(`PlainBuffer: expected ${what} (tag ${tag}) at ${this.pos - 1}, got tag ${got}`);
  }
}

/** Decodes a variant (type byte + payload) from `r`, returning it and its checksum contribution. */
function readVariant(r: Reader, crc: number): { value: PbValue; crc: number } {
  const type = r.byte();
  crc = crc8(crc, u8(type));
  switch (type) {
    case VT.INTEGER: { const b = r.take(8); return { value: { type: 'integer', value: b.readBigInt64LE() }, crc: crc8(crc, b) }; }
    case VT.DOUBLE: { const b = r.take(8); return { value: { type: 'double', value: b.readDoubleLE() }, crc: crc8(crc, b) }; }
    case VT.BOOLEAN: { const b = r.byte(); return { value: { type: 'boolean', value: b !== 0 }, crc: crc8(crc, u8(b)) }; }
    case VT.STRING:
    case VT.BLOB: {
      const len = r.u32();
      const bytes = r.take(len);
      crc = crc8(crc8(crc, u32(len)), bytes);
      return { value: type === VT.STRING ? { type: 'string', value: bytes.toString('utf8') } : { type: 'binary', value: Buffer.from(bytes) }, crc };
    }
    case VT.INF_MIN: return { value: { type: 'inf_min' }, crc };
    case VT.INF_MAX: return { value: { type: 'inf_max' }, crc };
    case VT.AUTO_INCREMENT: return { value: { type: 'auto_increment' }, crc };
    default: throw new PlainBufferError(`PlainBuffer: unknown value type ${type}`);
  }
}

/** A filter's column value (SQLVariant form: no length prefix). */
export function decodeVariant(bytes: Uint8Array): PbValue {
  return readVariant(new Reader(Buffer.from(bytes)), 0).value;
}

function readCell(r: Reader): { cell: PbCell; crc: number } {
  r.expect(TAG.CELL, 'TAG_CELL');
  r.expect(TAG.CELL_NAME, 'TAG_CELL_NAME');
  const nameBytes = r.take(r.u32());
  let crc = crc8(0, nameBytes);
  const cell: PbCell = { name: nameBytes.toString('utf8') };
  if (r.peek() === TAG.CELL_VALUE) {
    r.byte();
    const len = r.u32();
    const start = r.pos;
    const v = readVariant(r, crc);
    if (r.pos - start !== len) throw new PlainBufferError(`PlainBuffer: cell '${cell.name}' value length ${len} but ${r.pos - start} bytes read`);
    cell.value = v.value;
    crc = v.crc;
  }
  if (r.peek() === TAG.CELL_TYPE) { r.byte(); cell.op = r.byte(); }
  if (r.peek() === TAG.CELL_TIMESTAMP) { r.byte(); const b = r.take(8); cell.timestamp = b.readBigInt64LE(); crc = crc8(crc, b); }
  if (cell.op !== undefined) crc = crc8(crc, u8(cell.op));
  r.expect(TAG.CELL_CHECKSUM, 'TAG_CELL_CHECKSUM');
  const sent = r.byte();
  if (sent !== crc) throw new PlainBufferError(`PlainBuffer: checksum mismatch in cell '${cell.name}' (sent ${sent}, computed ${crc})`);
  return { cell, crc };
}

function readRow(r: Reader): PbRow {
  const row: PbRow = { pk: [], cells: [], deleteMarker: false };
  let crc = 0;
  r.expect(TAG.ROW_PK, 'TAG_ROW_PK');
  while (r.peek() === TAG.CELL) { const c = readCell(r); row.pk.push(c.cell); crc = crc8(crc, u8(c.crc)); }
  if (r.peek() === TAG.ROW_DATA) {
    r.byte();
    while (r.peek() === TAG.CELL) { const c = readCell(r); row.cells.push(c.cell); crc = crc8(crc, u8(c.crc)); }
  }
  if (r.peek() === TAG.DELETE_ROW_MARKER) { r.byte(); row.deleteMarker = true; }
  crc = crc8(crc, u8(row.deleteMarker ? 1 : 0));
  r.expect(TAG.ROW_CHECKSUM, 'TAG_ROW_CHECKSUM');
  const sent = r.byte();
  if (sent !== crc) throw new PlainBufferError(`PlainBuffer: row checksum mismatch (sent ${sent}, computed ${crc})`);
  return row;
}

/** One row (a request's row_change / primary_key). */
export function decodeRow(bytes: Uint8Array): PbRow {
  const r = new Reader(Buffer.from(bytes));
  if (r.u32() !== HEADER) throw new PlainBufferError('PlainBuffer: bad header');
  const row = readRow(r);
  // The SDK sizes a primary key with INF_MIN/INF_MAX one byte too large and sends the zero padding.
  while (!r.atEnd) if (r.byte() !== 0) throw new PlainBufferError(`PlainBuffer: data after the row at ${r.pos - 1}`);
  return row;
}

function writeCell(parts: Buffer[], cell: PbCell): number {
  const name = Buffer.from(cell.name, 'utf8');
  parts.push(u8(TAG.CELL), u8(TAG.CELL_NAME), u32(name.length), name);
  let crc = crc8(0, name);
  if (cell.value) {
    const v = encodeVariant(cell.value);
    parts.push(u8(TAG.CELL_VALUE), u32(v.length), v);
    crc = crc8(crc, v);
  }
  if (cell.op !== undefined) parts.push(u8(TAG.CELL_TYPE), u8(cell.op));
  if (cell.timestamp !== undefined) { const t = i64(cell.timestamp); parts.push(u8(TAG.CELL_TIMESTAMP), t); crc = crc8(crc, t); }
  if (cell.op !== undefined) crc = crc8(crc, u8(cell.op));
  parts.push(u8(TAG.CELL_CHECKSUM), u8(crc));
  return crc;
}

function writeRow(parts: Buffer[], row: PbRow): void {
  let crc = 0;
  parts.push(u8(TAG.ROW_PK));
  for (const c of row.pk) crc = crc8(crc, u8(writeCell(parts, c)));
  if (row.cells.length > 0) {
    parts.push(u8(TAG.ROW_DATA));
    for (const c of row.cells) crc = crc8(crc, u8(writeCell(parts, c)));
  }
  if (row.deleteMarker) parts.push(u8(TAG.DELETE_ROW_MARKER));
  crc = crc8(crc, u8(row.deleteMarker ? 1 : 0));
  parts.push(u8(TAG.ROW_CHECKSUM), u8(crc));
}

/** Rows as the service returns them: one header, then the rows (GetRange), or one row (GetRow). */
export function encodeRows(rows: PbRow[]): Buffer {
  if (rows.length === 0) return Buffer.alloc(0);
  const parts: Buffer[] = [u32(HEADER)];
  for (const row of rows) writeRow(parts, row);
  return Buffer.concat(parts);
}
