import { describe, expect, it } from 'vitest';
import { tableFilter } from '../../../src/connectors/mysql-binlog/tables.js';
import { datetimeRule } from '../../../src/connectors/mysql-binlog/datetime-zone.js';
import { decodeToken, encodeStreamToken, encodeToken } from '../../../src/connectors/mysql-binlog/position.js';
import { parseConfig } from '../../../src/core/spec.js';
import { mysqlBinlogSpec } from '../../../src/connectors/mysql-binlog/spec.js';
import { binlogDescriptor, rowDescriptors } from '../../../src/connectors/mysql-binlog/binlog-columns.js';
import { describeColumn, type ColumnDescriptor, type ColumnInfo } from '../../../src/connectors/mysql-binlog/snapshot-values.js';

describe('mysql-binlog table filter', () => {
  it('applies databases, include globs, then exclude; never system schemas', () => {
    const f = tableFilter({ databases: ['shop', 'crm'], include: ['shop.*', 'crm.user*'], exclude: ['shop.tmp_*'] });
    expect([['shop', 'orders'], ['shop', 'tmp_x'], ['crm', 'users'], ['crm', 'notes'], ['hr', 'users'], ['mysql', 'user']]
      .map(([d, t]) => f(d, t))).toEqual([true, false, true, false, false, false]);
    expect(tableFilter({})('mysql', 'user')).toBe(false);
  });
});

describe('mysql-binlog DATETIME zone rule', () => {
  it('keeps naive text without a zone and converts to UTC Z with one', () => {
    expect(datetimeRule(undefined)('2024-03-10T02:30:00.123456')).toBe('2024-03-10T02:30:00.123456');
    expect(datetimeRule('+08:00')('2024-01-01T07:00:00')).toBe('2023-12-31T23:00:00Z');
    expect(datetimeRule('UTC')('2024-01-01T07:00:00.5')).toBe('2024-01-01T07:00:00.5Z');
    // New York: EST (-05:00) in January, EDT (-04:00) in July.
    expect(datetimeRule('America/New_York')('2024-01-15T12:00:00')).toBe('2024-01-15T17:00:00Z');
    expect(datetimeRule('America/New_York')('2024-07-15T12:00:00.000001')).toBe('2024-07-15T16:00:00.000001Z');
    expect(() => datetimeRule('Mars/Olympus')).toThrow(/not a zone name/);
  });

  it('keeps years below 100 (Date.UTC would read 0050 as 1950) and leaves text that is not a DATETIME alone', () => {
    for (const zone of ['UTC', '+00:00', 'Z']) {
      expect(datetimeRule(zone)('0050-06-01T12:00:00')).toBe('0050-06-01T12:00:00Z');
      expect(datetimeRule(zone)('2024-02-29T23:59:59.999999')).toBe('2024-02-29T23:59:59.999999Z');
      expect(datetimeRule(zone)('not a time')).toBe('not a time');
    }
    expect(datetimeRule('+08:00')('0050-06-01T07:00:00')).toBe('0050-05-31T23:00:00Z');
    expect(datetimeRule('Asia/Shanghai')('0099-12-31T23:00:00')).toMatch(/^0099-12-31T1\d:\d\d:\d\dZ$/);
  });
});

describe('mysql-binlog resume token', () => {
  it('round-trips and rejects what is not a token', () => {
    const token = { v: 1 as const, n: 3, phase: 'stream' as const, position: { file: 'binlog.000002', pos: 813, gtid: '0-1-3' }, seq: 2 };
    expect(decodeToken(encodeToken(token), 'cdc')).toEqual(token);
    expect(() => decodeToken('42', 'cdc')).toThrow(expect.objectContaining({ code: 'TRIB_STATE_INCOMPATIBLE' }));
    expect(() => decodeToken(JSON.stringify({ ...token, position: { file: 'x' } }), 'cdc')).toThrow(/not a binlog token/);
  });

  it('a streamed change\'s token is encodeToken\'s text, the position encoded once per transaction', () => {
    const positions = [
      { file: 'binlog.000002', pos: 813, gtid: '0-1-3' },
      { file: 'mysql-bin.000001', pos: 4 },
      { file: 'odd "name"\\.000001', pos: 2 ** 40, gtid: '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5,\n4f11fa47-71ca-11e1-9e33-c80aa9429562:1-2' },
    ];
    for (const position of positions) {
      for (const [n, seq] of [[1, 0], [3, 2], [1_000_001, 17]] as const) {
        const text = encodeStreamToken(n, position, seq);
        expect(text).toBe(encodeToken({ v: 1, n, phase: 'stream', position, seq }));
        expect(decodeToken(text, 'cdc')).toEqual({ v: 1, n, phase: 'stream', position, seq });
      }
    }
  });
});

describe('mysql-binlog spec', () => {
  it('fills defaults, rejects a literal password and malformed table patterns', () => {
    expect(parseConfig(mysqlBinlogSpec, { user: 'cdc' })).toMatchObject({
      host: '127.0.0.1', port: 3306, serverId: 54001, snapshot: 'initial', gtid: 'auto', bufferSize: 10_000,
    });
    expect(() => parseConfig(mysqlBinlogSpec, { user: 'cdc', password: 'hunter2' })).toThrow(/secret/);
    expect(() => parseConfig(mysqlBinlogSpec, { user: 'cdc', include: ['orders'] })).toThrow(/db\.table/);
    expect(() => parseConfig(mysqlBinlogSpec, { user: 'cdc', snapshot: 'always' })).toThrow();
  });
});

describe('mysql-binlog row descriptors (binlog types vs information_schema)', () => {
  const described = (name: string, info: Partial<ColumnInfo> & { DATA_TYPE: string }): ColumnDescriptor => describeColumn({
    COLUMN_NAME: name, COLUMN_TYPE: info.DATA_TYPE, NUMERIC_PRECISION: null, NUMERIC_SCALE: null, DATETIME_PRECISION: null,
    CHARACTER_SET_NAME: null, COLLATION_NAME: null, ...info,
  });
  const col = (name: string, type: number, metadata: Record<string, unknown> = {}, charset: string | null = null) => ({ name, type, metadata, charset });
  const schema = (name: string, extra: Record<string, unknown> = {}) => ({ COLUMN_NAME: name, COLLATION_NAME: null, CHARACTER_SET_NAME: null, COLUMN_COMMENT: '', COLUMN_TYPE: '', ...extra });

  it('keeps information_schema where it agrees with the binlog type and takes the binlog where it does not', () => {
    const shape = [
      described('id', { DATA_TYPE: 'int' }),
      described('b', { DATA_TYPE: 'varchar', CHARACTER_SET_NAME: 'utf8mb4', COLLATION_NAME: 'utf8mb4_general_ci' }), // now VARCHAR, was INT
      described('doc', { DATA_TYPE: 'longtext', CHARACTER_SET_NAME: 'utf8mb4', isJson: true }), // MariaDB JSON: a BLOB code in the binlog
      described('at', { DATA_TYPE: 'datetime', DATETIME_PRECISION: 6 }), // now DATETIME(6), was DATETIME(3)
      described('e', { DATA_TYPE: 'enum', COLUMN_TYPE: "enum('a','b','c')" }),
    ];
    const byName = rowDescriptors(shape, {
      columns: [col('id', 3), col('b', 3), col('doc', 252, { length_size: 4 }, 'utf8mb4'), col('at', 18, { decimals: 3 }), col('e', 247), col('gone', 246, { precision: 5, decimals: 2 })],
      schemas: [schema('id'), schema('b'), schema('doc'), schema('at'), schema('e', { ENUM_VALUES: ['a', 'b'] }), schema('gone')],
    });
    expect(byName.get('id')).toBe(shape[0]);
    expect(byName.get('b')).toMatchObject({ kind: 'integer' });
    expect(byName.get('doc')).toBe(shape[2]);
    expect(byName.get('at')).toMatchObject({ kind: 'datetime', fsp: 6 }); // same kind: information_schema's (fsp only pads text)
    expect(byName.get('e')).toMatchObject({ kind: 'enum', members: ['a', 'b'] }); // FULL metadata's members win
    expect(byName.get('gone')).toMatchObject({ kind: 'decimal', precision: 5, scale: 2 }); // dropped since: from the binlog alone
    expect(binlogDescriptor(col('s', 15, { max_length: 40 }), schema('s', { CHARACTER_SET_NAME: 'binary' })).kind).toBe('binary');
    expect(binlogDescriptor(col('s', 15, { max_length: 40 }, 'utf8mb4'), undefined).kind).toBe('text');
    expect(binlogDescriptor(col('t', 17, { decimals: 2 }), undefined)).toMatchObject({ kind: 'timestamp', fsp: 2 });
    expect(binlogDescriptor(col('x', 16, { bits: 9 }), undefined)).toMatchObject({ kind: 'bit', precision: 9 });
    expect(rowDescriptors(shape, undefined).get('b')).toBe(shape[1]);
  });
});
