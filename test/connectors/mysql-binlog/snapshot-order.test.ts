import { describe, expect, it } from 'vitest';
import { collationKey, compareDecimals, comparePositions } from '../../../src/connectors/mysql-binlog/snapshot-order.js';
import { describeColumn, normalizeValue, parseMembers } from '../../../src/connectors/mysql-binlog/snapshot-values.js';

describe('snapshot orderings', () => {
  it('orders binlog positions by file sequence number, then offset', () => {
    expect(comparePositions({ file: 'binlog.999999', pos: 900 }, { file: 'binlog.1000000', pos: 4 })).toBe(-1);
    expect(comparePositions({ file: 'binlog.000002', pos: 4 }, { file: 'binlog.000001', pos: 9000 })).toBe(1);
    expect(comparePositions({ file: 'binlog.000002', pos: 400 }, { file: 'binlog.000002', pos: 400, gtid: '0-1-5' })).toBe(0);
  });

  it('compares decimal texts exactly (randomized against scaled BigInt; seed printed on failure)', () => {
    const seed = Date.now() % 100_000;
    let x = seed;
    const rnd = (n: number): number => { x = (x * 1103515245 + 12345) % 2147483648; return x % n; };
    const gen = (): [string, bigint] => {
      const int = String(rnd(10) < 3 ? 0 : rnd(1e9)) + (rnd(2) ? String(rnd(1e9)).padStart(9, '0') : '');
      const frac = String(rnd(1e6)).padStart(6, '0').slice(0, rnd(7));
      const neg = rnd(2) === 1;
      const text = `${neg ? '-' : ''}${int}${frac ? '.' + frac : ''}`;
      const scaled = BigInt(int + frac.padEnd(6, '0')) * (neg ? -1n : 1n);
      return [text, scaled];
    };
    for (let i = 0; i < 2_000; i++) {
      const [a, sa] = gen();
      const [b, sb] = gen();
      const expected = sa < sb ? -1 : sa > sb ? 1 : 0;
      expect(compareDecimals(a, b), `seed ${seed}: ${a} vs ${b}`).toBe(expected);
    }
    expect(compareDecimals('-0.000', '0')).toBe(0);
    expect(compareDecimals('00012.50', '12.5')).toBe(0);
  });

  it('folds strings per collation family', () => {
    expect(collationKey('Éclair  ', 'utf8mb4_general_ci')).toBe('ECLAIR');
    expect(collationKey('Éclair  ', 'utf8mb4_bin')).toBe('Éclair');
    expect(collationKey('Éclair  ', 'utf8mb4_nopad_bin')).toBe('Éclair  ');
    expect(collationKey('Éclair', 'utf8mb4_0900_as_cs')).toBe('Éclair');
    expect(collationKey('Éclair', 'utf8mb4_0900_as_ci')).toBe('ÉCLAIR');
  });
});

describe('snapshot value rules', () => {
  const col = (DATA_TYPE: string, COLUMN_TYPE = DATA_TYPE, extra: Partial<Parameters<typeof describeColumn>[0]> = {}) => describeColumn({
    COLUMN_NAME: 'c', DATA_TYPE, COLUMN_TYPE, NUMERIC_PRECISION: null, NUMERIC_SCALE: null, DATETIME_PRECISION: null,
    CHARACTER_SET_NAME: null, COLLATION_NAME: null, ...extra });

  it('accepts the streamer\'s raw forms as well as the snapshot\'s text', () => {
    expect(normalizeValue(col('bigint'), 2n ** 60n)).toBe('1152921504606846976');
    expect(normalizeValue(col('bigint'), 12)).toBe(12);
    expect(normalizeValue(col('float'), Math.fround(3.14159))).toBe(3.14159);
    expect(normalizeValue(col('enum', "enum('a','b')"), 2)).toBe('b');
    expect(normalizeValue(col('set', "set('a','b','c')"), 0b101)).toEqual(['a', 'c']);
    expect(normalizeValue(col('timestamp', 'timestamp(3)', { DATETIME_PRECISION: 3 }), new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678))))
      .toBe('2024-01-02T03:04:05.678Z');
    expect(normalizeValue(col('datetime', 'datetime(6)', { DATETIME_PRECISION: 6 }), new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678))))
      .toBe('2024-01-02T03:04:05.678000');
    expect(normalizeValue(col('datetime'), '0000-00-00 00:00:00')).toBeNull();
    expect(normalizeValue(col('longtext', 'longtext', { isJson: true }), '{"a":1}')).toEqual({ a: 1 });
    expect(normalizeValue(col('varchar', 'varchar(3)', { CHARACTER_SET_NAME: 'binary', COLLATION_NAME: 'binary' }), Buffer.from('hi'))).toBe('aGk=');
  });

  it('parses ENUM/SET members with quotes and commas', () => {
    expect(parseMembers("enum('a,b','it''s','')")).toEqual(['a,b', "it's", '']);
  });
});
