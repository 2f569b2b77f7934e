import { afterEach, describe, expect, it } from 'vitest';
import { useMariaDb } from '../../helpers/mariadb.js';
import type { MysqlBinlogSource } from '../../../src/connectors/mysql-binlog/source.js';
import type { MysqlBinlogConfig } from '../../../src/connectors/mysql-binlog/spec.js';
import { binlogConfig, collect, drain, env, openSource } from './source-helpers.js';

describe('mysql-binlog source: column types and resume', () => {
  const db = useMariaDb();
  const open: MysqlBinlogSource[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  const openTracked = async (config: MysqlBinlogConfig, token?: string): Promise<MysqlBinlogSource> => {
    const { source } = await openSource(config, token);
    open.push(source);
    return source;
  };

  it('round-trips every column type exactly', async () => {
    await db().query(`CREATE TABLE types (
      id INT PRIMARY KEY, dec30 DECIMAL(30,10), bu BIGINT UNSIGNED, bs BIGINT, safe BIGINT, small TINYINT,
      d DATE, dt DATETIME(6), dt0 DATETIME, ts TIMESTAMP(3) NULL, tm TIME(3), tneg TIME, y YEAR,
      j JSON, b BLOB, vb VARBINARY(16), bn BINARY(4), e ENUM('red','green'), st SET('a','b','c'),
      bit1 BIT(1), bit12 BIT(12), f FLOAT, dbl DOUBLE, txt TEXT, vc VARCHAR(20), nul INT NULL) DEFAULT CHARSET=utf8mb4`);
    const source = await openTracked(binlogConfig(db(), { include: ['shop.types'] }));
    await source.poll(10);
    const blob = Buffer.from([0xff, 0x00, 0xfe, 0x80, 0xc3]);
    // The session zone must not matter for TIMESTAMP: 07:30:00.250 at +05:00 is 02:30:00.250Z.
    await db().query(`SET time_zone = '+05:00'; INSERT INTO types VALUES (1, '12345678901234567890.0123456789', 18446744073709551615,
      -9223372036854775808, 9007199254740991, -128, '2024-02-29', '2024-02-29 23:59:58.123456', '1999-12-31 00:00:00',
      '2024-03-10 07:30:00.250', '12:34:56.789', '-838:59:59', 2024, ?, ?, ?, ?, 'green', 'a,c', b'1', b'101010101010',
      3.14159, 2.718281828459045, 'héllo 🌍', 'x''y', NULL); SET time_zone = '+00:00'`,
    ['{"a": [1, 2.5, "x"], "n": null, "nested": {"b": true}}', blob, Buffer.from([0, 1, 0xff]), Buffer.from([1, 2])]);
    await db().query('INSERT INTO types (id) VALUES (2)');
    await db().query("UPDATE types SET dec30 = '-0.0000000001', st = '', e = 'red' WHERE id = 2");
    const records = await collect(source, 3);
    expect(env(records[0]).after).toEqual({
      id: 1, dec30: '12345678901234567890.0123456789', bu: '18446744073709551615', bs: '-9223372036854775808',
      safe: 9007199254740991, small: -128, d: '2024-02-29', dt: '2024-02-29T23:59:58.123456', dt0: '1999-12-31T00:00:00',
      ts: '2024-03-10T02:30:00.250Z', tm: '12:34:56.789', tneg: '-838:59:59', y: 2024,
      j: { a: [1, 2.5, 'x'], n: null, nested: { b: true } }, b: blob.toString('base64'), vb: Buffer.from([0, 1, 0xff]).toString('base64'),
      bn: Buffer.from([1, 2, 0, 0]).toString('base64'), e: 'green', st: ['a', 'c'], bit1: true, bit12: 0b101010101010,
      f: 3.14159, dbl: 2.718281828459045, txt: 'héllo 🌍', vc: "x'y", nul: null,
    });
    const nulls = env(records[1]).after!;
    expect(Object.entries(nulls).filter(([k, v]) => k !== 'id' && v !== null)).toEqual([]);
    expect(env(records[2]).after).toMatchObject({ dec30: '-0.0000000001', st: [], e: 'red' });
  });

  it('writes DATETIME as UTC with Z when a timezone is configured', async () => {
    await db().query('CREATE TABLE zoned (id INT PRIMARY KEY, dt DATETIME(3), ts TIMESTAMP NULL)');
    const source = await openTracked(binlogConfig(db(), { include: ['shop.zoned'], timezone: 'Asia/Shanghai' }));
    await source.poll(10);
    await db().query("SET time_zone = '+00:00'; INSERT INTO zoned VALUES (1, '2024-01-01 08:00:00.500', '2024-01-01 08:00:00')");
    const [r] = await collect(source, 1);
    expect(env(r).after).toEqual({ id: 1, dt: '2024-01-01T00:00:00.500Z', ts: '2024-01-01T08:00:00Z' });
  });

  for (const gtid of ['auto', 'off'] as const) {
    it(`resumes exactly after any record, inside multi-row events and transactions (gtid: ${gtid})`, async () => {
      const table = `resume_${gtid}`;
      await db().query(`CREATE TABLE ${table} (id INT PRIMARY KEY, v INT)`);
      const config = binlogConfig(db(), { include: [`shop.${table}`], gtid });
      const source = await openTracked(config);
      await source.poll(10);
      await db().query(`INSERT INTO ${table} VALUES (1,0),(2,0),(3,0),(4,0)`); // one event, four rows
      await db().query(`BEGIN; UPDATE ${table} SET v = 1 WHERE id <= 2; INSERT INTO ${table} VALUES (5,0); DELETE FROM ${table} WHERE id = 4; COMMIT`);
      await db().query(`UPDATE ${table} SET v = 2`);
      const all = await collect(source, 4 + 4 + 4);
      expect(all.map((r) => `${env(r).op}${r.key}`)).toEqual(['c1', 'c2', 'c3', 'c4', 'u1', 'u2', 'c5', 'd4', 'u1', 'u2', 'u3', 'u5']);
      await source.close();
      for (const k of [0, 1, 3, 5, 7, 10]) {
        const resumed = await openTracked(config, all[k].token);
        const rest = await collect(resumed, all.length - k - 1);
        expect(rest.map((r) => ({ offset: r.offset, key: r.key, value: r.value })), `after record ${k}`)
          .toEqual(all.slice(k + 1).map((r) => ({ offset: r.offset, key: r.key, value: r.value })));
        expect(await drain(resumed, 200)).toEqual([]);
        await resumed.close();
      }
    });
  }

  it('resumes after a server restart from the checkpointed token', async () => {
    await db().query('CREATE TABLE survive (id INT PRIMARY KEY)');
    const config = binlogConfig(db(), { include: ['shop.survive'] });
    const source = await openTracked(config);
    await source.poll(10);
    await db().query('INSERT INTO survive VALUES (1), (2)');
    const [first] = await collect(source, 2);
    await source.close();
    await db().kill();
    await db().restart();
    await db().query('INSERT INTO survive VALUES (3)');
    const resumed = await openTracked(config, first.token);
    expect((await collect(resumed, 2)).map((r) => [r.offset, r.key])).toEqual([[1, 2], [2, 3]]);
  });

  it('starts with an initial snapshot (op r) and streams later changes without duplicates', async () => {
    await db().query('CREATE TABLE snap (id INT PRIMARY KEY, v VARCHAR(5))');
    await db().query("INSERT INTO snap VALUES (1,'a'),(2,'b'),(3,'c')");
    const source = await openTracked(binlogConfig(db(), { include: ['shop.snap'], snapshot: 'initial' }));
    const snapshot = await collect(source, 3);
    expect(snapshot.map((r) => [env(r).op, r.key, env(r).after])).toEqual([['r', 1, { id: 1, v: 'a' }], ['r', 2, { id: 2, v: 'b' }], ['r', 3, { id: 3, v: 'c' }]]);
    await db().query("UPDATE snap SET v = 'z' WHERE id = 2");
    const [change] = await collect(source, 1);
    expect([env(change).op, change.key, change.offset, env(change).after]).toEqual(['u', 2, 3, { id: 2, v: 'z' }]);
    // Resume after the second snapshot row: the third comes again, then the update, once each.
    const resumed = await openTracked(binlogConfig(db(), { include: ['shop.snap'], snapshot: 'initial' }), snapshot[1].token);
    const again = await collect(resumed, 2);
    expect(again.map((r) => [env(r).op, r.key, r.offset])).toEqual([['r', 3, 2], ['u', 2, 3]]);
    expect(await drain(resumed, 200)).toEqual([]);
  });
});
