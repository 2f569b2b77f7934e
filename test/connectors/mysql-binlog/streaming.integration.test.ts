import { afterEach, describe, expect, it } from 'vitest';
import { useMariaDb } from '../../helpers/mariadb.js';
import type { MysqlBinlogSource } from '../../../src/connectors/mysql-binlog/source.js';
import { binlogConfig, collect, drain, env, openSource, started } from './source-helpers.js';

describe('mysql-binlog source: streaming', () => {
  const db = useMariaDb();
  /** MariaDB keeps a file until its binlog checkpoint and while a dump thread reads it: retry briefly. */
  const purgeTo = async (file: string): Promise<void> => {
    let names: string[] = [];
    for (let i = 0; i < 50; i++) {
      await db().query(`PURGE BINARY LOGS TO '${file}'`);
      names = (await db().query<Array<{ Log_name: string }>>('SHOW BINARY LOGS')).map((l) => l.Log_name);
      if (names.length === 1) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    const warnings = await db().query('SHOW WARNINGS');
    throw new Error(`could not purge to ${file}: still ${names.join(', ')}; ${JSON.stringify(warnings)}`);
  };
  const open: MysqlBinlogSource[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  const track = <T extends { source: MysqlBinlogSource }>(o: T): T => {
    open.push(o.source);
    return o;
  };

  it('emits insert, update and delete envelopes with before/after, key, time and source fields', async () => {
    await db().query('CREATE TABLE orders (id INT PRIMARY KEY, status VARCHAR(20), total DECIMAL(10,2))');
    const { source, logs } = track(await started(await openSource(binlogConfig(db()))));
    const before = Math.floor(Date.now() / 1000) * 1000;
    await db().query("INSERT INTO orders VALUES (1, 'new', 10.50)");
    await db().query("UPDATE orders SET status = 'paid' WHERE id = 1");
    await db().query('DELETE FROM orders WHERE id = 1');
    const records = await collect(source, 3);

    expect(records.map((r) => r.offset)).toEqual([0, 1, 2]);
    expect(records.map((r) => r.key)).toEqual([1, 1, 1]);
    expect(records.map(env).map(({ op, before: b, after }) => ({ op, before: b, after }))).toEqual([
      { op: 'c', before: null, after: { id: 1, status: 'new', total: '10.50' } },
      { op: 'u', before: { id: 1, status: 'new', total: '10.50' }, after: { id: 1, status: 'paid', total: '10.50' } },
      { op: 'd', before: { id: 1, status: 'paid', total: '10.50' }, after: null },
    ]);
    const gtidPos = (await db().query<Array<{ g: string }>>('SELECT @@gtid_binlog_pos AS g'))[0].g;
    const [{ File: file }] = await db().query<Array<{ File: string }>>('SHOW MASTER STATUS');
    const sources = records.map((r) => env(r).source);
    for (const s of sources) {
      expect(s).toMatchObject({ server_id: 1, file, db: 'shop', table: 'orders' });
      expect(s.gtid).toMatch(/^0-1-\d+$/);
      expect(s.ts_ms).toBeGreaterThanOrEqual(before);
    }
    // Three transactions, three GTIDs, in order, the last one the server's current position.
    expect(new Set(sources.map((s) => s.gtid)).size).toBe(3);
    expect(sources[2].gtid).toBe(gtidPos);
    expect(Number(sources[0].pos)).toBeLessThan(Number(sources[1].pos));
    for (const r of records) expect(r.timestamp).toBe(env(r).source.ts_ms);
    expect(logs.join('\n')).not.toContain(db().password);
    // MariaDB with gtid: auto resumes by GTID, translated from the binlog end's file+pos.
    expect(logs.some((l) => l.includes('binlog streaming started') && /"gtid":"0-1-\d+"/.test(l))).toBe(true);
  });

  it('captures only tables matching include and not exclude, across databases', async () => {
    await db().query('CREATE DATABASE crm');
    await db().query('CREATE TABLE crm.users (id INT PRIMARY KEY)');
    await db().query('CREATE TABLE crm.notes (id INT PRIMARY KEY)');
    await db().query('CREATE TABLE items (id INT PRIMARY KEY)');
    await db().query('CREATE TABLE audit_log (id INT PRIMARY KEY)');
    const { source } = track(await started(await openSource(binlogConfig(db(), { include: ['shop.*', 'crm.users'], exclude: ['shop.audit*'] }))));
    await db().query('INSERT INTO crm.users VALUES (1)');
    await db().query('INSERT INTO crm.notes VALUES (1)');
    await db().query('INSERT INTO audit_log VALUES (1)');
    await db().query('INSERT INTO items VALUES (1)');
    const records = [...(await collect(source, 2)), ...(await drain(source))];
    expect(records.map((r) => `${env(r).source.db}.${env(r).source.table}`)).toEqual(['crm.users', 'shop.items']);
  });

  it('keys composite primary keys as an array in key order', async () => {
    await db().query('CREATE TABLE order_lines (order_id INT, line INT, sku VARCHAR(10), PRIMARY KEY (order_id, line))');
    const { source } = track(await started(await openSource(binlogConfig(db(), { include: ['shop.order_lines'] }))));
    await db().query("INSERT INTO order_lines VALUES (7, 2, 'a')");
    const [r] = await collect(source, 1);
    expect(r.key).toEqual([7, 2]);
  });

  /** A token that resumes streaming at the server's current binlog end (file + pos, no GTID). */
  const tokenAtEnd = async (): Promise<string> => {
    const [{ File: file, Position: pos }] = await db().query<Array<{ File: string; Position: number }>>('SHOW MASTER STATUS');
    return JSON.stringify({ v: 1, n: 0, phase: 'stream', position: { file, pos: Number(pos) }, seq: 0 });
  };

  it('keeps streaming through ALTER TABLE ADD / DROP / MODIFY COLUMN with the new shape', async () => {
    await db().query('CREATE TABLE evolving (id INT PRIMARY KEY, a VARCHAR(10))');
    const { source } = track(await started(await openSource(binlogConfig(db(), { include: ['shop.evolving'] }))));
    await db().query("INSERT INTO evolving VALUES (1, 'x')");
    await db().query('ALTER TABLE evolving ADD COLUMN b INT NOT NULL DEFAULT 5');
    await db().query("INSERT INTO evolving VALUES (2, 'y', 6)");
    const first = await collect(source, 2);
    await db().query('ALTER TABLE evolving MODIFY COLUMN b VARCHAR(10)');
    await db().query("INSERT INTO evolving VALUES (3, 'z', 'seven')");
    const records = [...first, ...(await collect(source, 1))];
    expect(records.map((r) => env(r).after)).toEqual([
      { id: 1, a: 'x' },
      { id: 2, a: 'y', b: 6 },
      { id: 3, a: 'z', b: 'seven' },
    ]);
  });

  it('converts rows written before a later ALTER TABLE by the types they were written with, also when the stream reads them after it', async () => {
    // binlog_row_metadata is NO_LOG here (MariaDB's default): names come from information_schema,
    // types from the table map. Every row is read after the MODIFY ran, so information_schema
    // already says VARCHAR for rows written while b was INT (and DECIMAL(6,3) for DECIMAL(5,2)).
    await db().query('CREATE TABLE drift (id INT PRIMARY KEY, b INT, d DECIMAL(5,2))');
    const token = await tokenAtEnd();
    await db().query("INSERT INTO drift VALUES (1, 7, 1.50)");
    await db().query("ALTER TABLE drift MODIFY COLUMN b VARCHAR(10), MODIFY COLUMN d DECIMAL(6,3)");
    await db().query("INSERT INTO drift VALUES (2, 'eight', 2.125)");
    const { source } = track(await openSource(binlogConfig(db(), { include: ['shop.drift'], gtid: 'off' }), token));
    const records = await collect(source, 2);
    expect(records.map((r) => env(r).after)).toEqual([{ id: 1, b: 7, d: '1.50' }, { id: 2, b: 'eight', d: '2.125' }]);
  });

  it('with binlog_row_metadata=FULL, reads rows written before later ADD / DROP / MODIFY / ADD FIRST with their own columns, far behind the DDL', async () => {
    await db().query('SET GLOBAL binlog_row_metadata = FULL');
    try {
      await db().query('CREATE TABLE evolving_full (id INT PRIMARY KEY, a VARCHAR(10))');
      const token = await tokenAtEnd();
      await db().query("INSERT INTO evolving_full VALUES (1, 'x')");
      await db().query('ALTER TABLE evolving_full ADD COLUMN b INT NOT NULL DEFAULT 5');
      await db().query("INSERT INTO evolving_full VALUES (2, 'y', 6)");
      await db().query('ALTER TABLE evolving_full DROP COLUMN a');
      await db().query('INSERT INTO evolving_full VALUES (3, 7)');
      await db().query('ALTER TABLE evolving_full MODIFY COLUMN b VARCHAR(10)');
      await db().query("INSERT INTO evolving_full VALUES (4, 'eight')");
      await db().query('ALTER TABLE evolving_full ADD COLUMN c DATE FIRST');
      await db().query("INSERT INTO evolving_full (id, b, c) VALUES (5, 'nine', '2024-01-02')");
      // Opened only now: every row is read after every ALTER ran.
      const { source, logs } = track(await openSource(binlogConfig(db(), { include: ['shop.evolving_full'], gtid: 'off' }), token));
      const records = await collect(source, 5);
      expect(records.map((r) => env(r).after)).toEqual([
        { id: 1, a: 'x' },
        { id: 2, a: 'y', b: 6 },
        { id: 3, b: 7 },
        { id: 4, b: 'eight' },
        { c: '2024-01-02', id: 5, b: 'nine' },
      ]);
      expect(records.map((r) => r.key)).toEqual([1, 2, 3, 4, 5]);
      expect(logs.some((l) => l.includes('binlog_row_metadata is not FULL'))).toBe(false);
    } finally {
      await db().query('SET GLOBAL binlog_row_metadata = NO_LOG');
    }
  });

  it('fails with a clear error when the saved binlog file was purged, and when the file is unknown', async () => {
    await db().query('CREATE TABLE purge_me (id INT PRIMARY KEY)');
    const first = track(await started(await openSource(binlogConfig(db(), { include: ['shop.purge_me'] }))));
    await db().query('INSERT INTO purge_me VALUES (1)');
    const [record] = await collect(first.source, 1);
    await first.source.close(); // a file a dump thread is reading cannot be purged
    await db().query('FLUSH BINARY LOGS');
    const [{ File: current }] = await db().query<Array<{ File: string }>>('SHOW MASTER STATUS');
    await purgeTo(current);

    const resumed = track(await openSource(binlogConfig(db(), { include: ['shop.purge_me'] }), record.token));
    const failure = await resumed.source.poll(10).then(() => undefined, (err: unknown) => err);
    expect(failure).toMatchObject({ code: 'TRIB_SOURCE_POSITION_LOST' });
    expect((failure as Error).message).toMatch(/binlog file binlog\.0+\d+ is not on the server \(purged\?; available: binlog\.\d+/);
    expect((failure as Error).message).not.toContain(db().password);

    const again = track(await openSource(binlogConfig(db(), { include: ['shop.purge_me'], snapshot: 'when_needed' }), record.token));
    const [snap] = await collect(again.source, 1);
    expect([env(snap).op, snap.key, snap.offset]).toEqual(['r', 1, 1]);
    expect(again.logs.some((l) => l.includes('snapshotting the tables again') && l.includes('is not on the server'))).toBe(true);

    const bogus = JSON.stringify({ v: 1, n: 5, phase: 'stream', position: { file: 'binlog.999999', pos: 4 }, seq: 0 });
    const unknown = track(await openSource(binlogConfig(db(), { gtid: 'off' }), bogus));
    await expect(unknown.source.poll(10)).rejects.toMatchObject({ code: 'TRIB_SOURCE_POSITION_LOST', message: expect.stringContaining('binlog.999999') });
  });

  it('pauses the binlog connection when its buffer is full and loses nothing', async () => {
    await db().query('CREATE TABLE burst (id INT PRIMARY KEY)');
    const { source } = track(await started(await openSource(binlogConfig(db(), { include: ['shop.burst'], bufferSize: 10 }))));
    const values = Array.from({ length: 300 }, (_, i) => `(${i})`);
    for (let i = 0; i < 300; i += 30) await db().query(`INSERT INTO burst VALUES ${values.slice(i, i + 30).join(',')}`);
    // Let the binlog run ahead of the (absent) consumer: the source must hold at most a bounded backlog.
    await new Promise((r) => setTimeout(r, 300));
    const internals = source as unknown as { stream: { buffered: number } };
    expect(internals.stream.buffered).toBeLessThanOrEqual(40);
    const records = await collect(source, 300);
    expect(records.map((r) => r.key)).toEqual(Array.from({ length: 300 }, (_, i) => i));
  });
});
