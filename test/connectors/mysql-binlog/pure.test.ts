import { describe, expect, it } from 'vitest';
import { tableFilter } from '../../../src/connectors/mysql-binlog/tables.js';
import { datetimeRule } from '../../../src/connectors/mysql-binlog/datetime-zone.js';
import { decodeToken, encodeToken } from '../../../src/connectors/mysql-binlog/position.js';
import { parseConfig } from '../../../src/topology/spec.js';
import { mysqlBinlogSpec } from '../../../src/connectors/mysql-binlog/spec.js';

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
});

describe('mysql-binlog resume token', () => {
  it('round-trips and rejects what is not a token', () => {
    const token = { v: 1 as const, n: 3, phase: 'stream' as const, position: { file: 'binlog.000002', pos: 813, gtid: '0-1-3' }, seq: 2 };
    expect(decodeToken(encodeToken(token), 'cdc')).toEqual(token);
    expect(() => decodeToken('42', 'cdc')).toThrow(expect.objectContaining({ code: 'TRIB_STATE_INCOMPATIBLE' }));
    expect(() => decodeToken(JSON.stringify({ ...token, position: { file: 'x' } }), 'cdc')).toThrow(/not a binlog token/);
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
