import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/core/logger.js';
import type { Row } from '../../../src/core/record.js';
import { TableSnapshot, type BinlogPosition, type SnapshotChunk, type SnapshotState } from '../../../src/connectors/mysql-binlog/snapshot.js';
import { compareColumn } from '../../../src/connectors/mysql-binlog/snapshot-order.js';
import type { ColumnDescriptor } from '../../../src/connectors/mysql-binlog/snapshot-values.js';
import { useMariaDb } from '../../helpers/mariadb.js';

const db = useMariaDb();

async function masterPos(): Promise<BinlogPosition> {
  const [s] = await db().query<Array<{ File: string; Position: number }>>('SHOW MASTER STATUS');
  return { file: s.File, pos: Number(s.Position) };
}

async function start(tables: string[], resume?: SnapshotState, strategy?: 'snapshot-status' | 'read-lock'): Promise<TableSnapshot> {
  return TableSnapshot.start(db().connectionConfig(), tables, resume, silentLogger, strategy ? { strategy } : {});
}

/** Reads up to `limit` chunks (all when undefined). */
async function read(snap: TableSnapshot, maxRows: number, limit = Infinity): Promise<SnapshotChunk[]> {
  const chunks: SnapshotChunk[] = [];
  while (chunks.length < limit) {
    const chunk = await snap.next(maxRows);
    if (chunk === null) break;
    chunks.push(chunk);
  }
  return chunks;
}

const afterOf = (r: { value: Row }): Row => r.value.after as Row;

describe('TableSnapshot on MariaDB', () => {
  it('reads 100k rows in 5k chunks, each once, in key order, as of the start position', async () => {
    await db().query('CREATE TABLE big (id INT PRIMARY KEY, name VARCHAR(32) NOT NULL, amount DECIMAL(12,2) NOT NULL)');
    await db().query("INSERT INTO big SELECT seq, CONCAT('n', seq), seq / 100 FROM seq_1_to_100000");
    const before = await masterPos();
    const snap = await start(['shop.big']);
    expect(snap.state.position).toMatchObject(before);
    expect(snap.state.position.gtid).toMatch(/^\d+-\d+-\d+/);

    // Committed after the snapshot opened: invisible to it, and the streamer must apply them.
    const changes: Array<[unknown, BinlogPosition]> = [];
    for (const [sql, key] of [['UPDATE big SET name = ? WHERE id = 50000', 50000], ['DELETE FROM big WHERE id = 1', 1],
      ['INSERT INTO big VALUES (100001, ?, 1)', 100001]] as const) {
      changes.push([key, await masterPos()]);
      await db().query(sql, ['changed']);
    }

    const chunks = await read(snap, 5_000);
    expect(chunks.map((c) => c.rows.length)).toEqual(Array(20).fill(5_000));
    expect(chunks.map((c) => c.state.tables['shop.big'].done)).toEqual([...Array(19).fill(false), true]);
    expect(chunks[7].state.tables['shop.big'].afterPk).toEqual([40_000]);
    const ids = chunks.flatMap((c) => c.rows.map((r) => r.key));
    expect(ids).toEqual(Array.from({ length: 100_000 }, (_, i) => i + 1));
    const row50k = chunks[9].rows[4_999];
    expect(row50k.value).toEqual({
      op: 'r', before: null, after: { id: 50000, name: 'n50000', amount: '500.00' },
      source: { server_id: 1, gtid: before.gtid ?? snap.state.position.gtid, file: before.file, pos: before.pos,
        ts_ms: expect.any(Number), db: 'shop', table: 'big', snapshot: true },
    });
    expect(afterOf(chunks[0].rows[0]).name).toBe('n1');
    for (const [key, pos] of changes) expect(snap.includesChange('shop.big', key, pos)).toBe(false);
    expect(await snap.next(5_000)).toBeNull();
    await snap.close();
  });

  it('resumes after crashes at later positions: every key once, each change either in the snapshot or applied', async () => {
    await db().query('CREATE TABLE acct (id INT PRIMARY KEY, v INT NOT NULL)');
    await db().query('INSERT INTO acct SELECT seq * 2, seq FROM seq_1_to_1000'); // ids 2, 4 ... 2000: odd ids are free

    type Change = { sql: string; op: 'c' | 'u' | 'd'; id: number; pos?: BinlogPosition; expectSkip: boolean };
    const log: Change[] = [];
    const commit = async (c: Omit<Change, 'pos'>): Promise<void> => {
      const pos = await masterPos();
      await db().query(c.sql);
      log.push({ ...c, pos });
    };
    const upd = (id: number, expectSkip: boolean) => commit({ sql: `UPDATE acct SET v = v + 1000 WHERE id = ${id}`, op: 'u', id, expectSkip });
    const del = (id: number, expectSkip: boolean) => commit({ sql: `DELETE FROM acct WHERE id = ${id}`, op: 'd', id, expectSkip });
    const ins = (id: number, expectSkip: boolean) => commit({ sql: `INSERT INTO acct VALUES (${id}, -${id})`, op: 'c', id, expectSkip });

    // Run 1 at P1: ids 2..600, then a crash.
    const s1 = await start(['shop.acct']);
    const run1 = await read(s1, 100, 3);
    const state1 = run1[2].state;
    expect(state1.tables['shop.acct']).toEqual({ done: false, afterPk: [600] });
    await s1.close();

    // Between runs 1 and 2: keys <= 600 were emitted as of P1 (apply); keys > 600 will be read as of P2 (skip).
    await upd(100, false); await upd(1000, true); await del(200, false); await del(1200, true);
    await ins(301, false); await ins(1501, true); await ins(2001, true);

    // Run 2 at P2: ids 602..1000, then a crash.
    const s2 = await start(['shop.acct'], state1);
    const p2 = s2.state.tables['shop.acct'].asOf!;
    expect(s2.state.position).toEqual(state1.position);
    expect(p2.pos).toBeGreaterThan(state1.position.pos);
    await upd(700, false); await upd(1400, true); // after P2: 700 is read by run 2 (apply), 1400 by run 3 (skip)
    const run2 = await read(s2, 100, 2);
    const state2 = run2[1].state;
    expect(state2.tables['shop.acct'].afterPk).toEqual([1000]);
    await s2.close();

    await upd(800, false); await del(1800, true); await ins(999, false); await ins(401, false);

    // Run 3 at P3 reads the rest.
    const s3 = await start(['shop.acct'], state2);
    expect(s3.state.tables['shop.acct'].ranges).toEqual([{ afterPk: [600], asOf: p2 }, { afterPk: [1000], asOf: s3.state.tables['shop.acct'].asOf }]);
    await upd(1900, false); await ins(2003, false); await del(1600, false); // after P3: all to apply
    const run3 = await read(s3, 100);
    expect(run3[run3.length - 1].state.tables['shop.acct'].done).toBe(true);

    // Emitted rows: every key exactly once.
    const emitted = [...run1, ...run2, ...run3].flatMap((c) => c.rows);
    const keys = emitted.map((r) => r.key as number);
    expect(new Set(keys).size).toBe(keys.length);
    const model = new Map<number, number>(emitted.map((r) => [r.key as number, afterOf(r).v as number]));

    // The streamer's view: skip what includesChange says, apply the rest strictly (no upsert blur).
    const verdicts = log.map((c) => s3.includesChange('shop.acct', c.id, c.pos!));
    expect(verdicts).toEqual(log.map((c) => c.expectSkip));
    log.forEach((c, i) => {
      if (verdicts[i]) return;
      const present = model.has(c.id);
      if (c.op === 'c') { expect(present, `insert ${c.id} applied twice`).toBe(false); model.set(c.id, -c.id); }
      if (c.op === 'u') { expect(present, `update ${c.id} of a missing row`).toBe(true); model.set(c.id, model.get(c.id)! + 1000); }
      if (c.op === 'd') { expect(present, `delete ${c.id} of a missing row`).toBe(true); model.delete(c.id); }
    });
    const final = await db().query<Array<{ id: number; v: number }>>('SELECT id, v FROM acct ORDER BY id');
    expect([...model.entries()].sort((a, b) => a[0] - b[0])).toEqual(final.map((r) => [r.id, r.v]));
    await s3.close();
  });

  it('chunks and resumes a composite key in the server order, and includesChange agrees with the server', async () => {
    await db().query(`CREATE TABLE geo (region VARCHAR(16) COLLATE utf8mb4_general_ci NOT NULL, id BIGINT UNSIGNED NOT NULL,
      note VARCHAR(8), PRIMARY KEY (region, id))`);
    const regions = ['eu', 'EU-west', 'Éire', 'east', 'us', 'Us-east', 'apac', 'b', 'ab', 'ab '.trimEnd() + 'c', 'zz', 'x y'];
    const ids = ['1', '2', '9007199254740993', '18446744073709551615', '42'];
    const values = regions.flatMap((r) => ids.map((id) => [r, id, 'n']));
    await db().query('INSERT INTO geo (region, id, note) VALUES ?', [values]);
    const serverOrder = await db().query<Array<{ k: string }>>(
      "SELECT CONCAT(region, '|', CAST(id AS CHAR)) AS k FROM geo ORDER BY region, id");
    const asText = (key: unknown): string => { const [r, i] = key as [string, number | string]; return `${r}|${String(i)}`; };

    const s1 = await start(['shop.geo']);
    const run1 = await read(s1, 7, 4);
    const state1 = run1[3].state;
    await s1.close();
    const between = await masterPos();
    await db().query('CREATE TABLE geo_marker (id INT PRIMARY KEY)'); // moves the binlog on: P2 > between
    const s2 = await start(['shop.geo'], state1);
    const run2 = await read(s2, 7);
    const emitted = [...run1, ...run2].flatMap((c) => c.rows);
    expect(emitted.map((r) => asText(r.key))).toEqual(serverOrder.map((r) => r.k));
    expect(emitted.find((r) => (r.key as unknown[])[1] === '18446744073709551615')).toBeDefined();
    expect(emitted.find((r) => (r.key as unknown[])[1] === 42)).toBeDefined();

    // A change at `between` is in the snapshot exactly when its key lies past run 1's resume point, by the server's order.
    const [region, id] = state1.tables['shop.geo'].afterPk as [string, number | string];
    const truth = await db().query<Array<{ region: string; id: string; later: number }>>(
      'SELECT region, CAST(id AS CHAR) AS id, (region, id) > (?, ?) AS later FROM geo ORDER BY region, id', [region, BigInt(id)]);
    const laterCount = truth.filter((t) => Number(t.later) === 1).length;
    expect(laterCount).toBeGreaterThan(10);
    expect(laterCount).toBeLessThan(truth.length - 10);
    for (const t of truth) {
      const key = [t.region, Number.isSafeInteger(Number(t.id)) ? Number(t.id) : t.id];
      expect(s2.includesChange('shop.geo', key, between), `key ${t.region}|${t.id}`).toBe(Number(t.later) === 1);
    }
    await s2.close();
  });

  it('orders text keys like the server for common collations', async () => {
    const words = ['abc', 'ABC', 'abd', 'ab', 'ab  ', 'é', 'e', 'E', 'f', 'Zeta', 'zebra', '', '  x', 'x ', '1', '10', '9',
      'École', 'ecole', 'Ecolf', 'año', 'ano', 'anp', 'résumé', 'resume', 'ß'.replace('ß', 'ss'), 'Straße'.slice(0, 4)];
    const collations = ['utf8mb4_general_ci', 'utf8mb4_unicode_ci', 'utf8mb4_bin', 'utf8mb4_nopad_bin', 'utf8mb4_unicode_520_ci'];
    for (const collation of collations) {
      await db().query(`CREATE TABLE words_${collation} (n INT PRIMARY KEY, w VARCHAR(32) COLLATE ${collation})`);
      await db().query(`INSERT INTO words_${collation} VALUES ?`, [words.map((w, i) => [i, w])]);
      const pairs = await db().query<Array<{ a: string; b: string; c: number }>>(
        `SELECT x.w AS a, y.w AS b, (x.w > y.w) - (x.w < y.w) AS c FROM words_${collation} x JOIN words_${collation} y`);
      const col: ColumnDescriptor = { name: 'w', kind: 'text', unsigned: false, fsp: 0, precision: 0, scale: 0, members: [], collation };
      const wrong = pairs.filter((p) => compareColumn(col, p.a, p.b) !== Number(p.c)).map((p) => `${JSON.stringify(p.a)} vs ${JSON.stringify(p.b)}: server ${p.c}`);
      expect(wrong, collation).toEqual([]);
    }
  });

  it('converts every column type like the streamer does', async () => {
    await db().query(`CREATE TABLE typed (
      id INT PRIMARY KEY, ti TINYINT, iu INT UNSIGNED, bi BIGINT, bu BIGINT UNSIGNED, small_big BIGINT,
      dec_ DECIMAL(20,6), fl FLOAT, db DOUBLE, b1 BIT(1), b12 BIT(12),
      d DATE, dt DATETIME, dt6 DATETIME(6), ts3 TIMESTAMP(3) NULL, tm TIME(2), yr YEAR,
      js JSON, vc VARCHAR(20), ch CHAR(5), bin BINARY(4), vb VARBINARY(8), bl BLOB, tx TEXT,
      en ENUM('small','it''s'), st SET('a','b','c'), st0 SET('a','b'), nul VARCHAR(3), l1 VARCHAR(8) CHARACTER SET latin1)
      CHARACTER SET utf8mb4`);
    // The row is written in UTC; the snapshot must read it as UTC even when the server's zone is not.
    await db().query(`SET time_zone = '+00:00'; INSERT INTO typed VALUES (1, -128, 4294967295, 9223372036854775807, 18446744073709551615, -9007199254740991,
      '-12345678901234.500000', 3.14159, 2.718281828459045, b'1', b'101010101010',
      '2024-02-29', '2024-03-10 02:30:00', '1999-12-31 23:59:59.123456', '2024-01-02 03:04:05.678', '-838:59:59.00', 2155,
      '{"a":[1,2,{"b":null}],"c":"ü"}', 'héllo 🌊', 'ab', x'00ff1000', x'', x'deadbeef', 'long text',
      'it''s', 'c,a', '', NULL, 'café')`);
    await db().query("SET GLOBAL time_zone = '+05:00'");
    let chunk: SnapshotChunk;
    try {
      const snap = await start(['shop.typed']);
      [chunk] = await read(snap, 10);
      await snap.close();
    } finally {
      await db().query("SET GLOBAL time_zone = '+00:00'");
    }
    expect(chunk.rows).toHaveLength(1);
    expect(chunk.rows[0].key).toBe(1);
    expect(afterOf(chunk.rows[0])).toEqual({
      id: 1, ti: -128, iu: 4294967295, bi: '9223372036854775807', bu: '18446744073709551615', small_big: -9007199254740991,
      dec_: '-12345678901234.500000', fl: 3.14159, db: 2.718281828459045, b1: true, b12: 0b101010101010,
      d: '2024-02-29', dt: '2024-03-10T02:30:00', dt6: '1999-12-31T23:59:59.123456', ts3: '2024-01-02T03:04:05.678Z',
      tm: '-838:59:59.00', yr: 2155, js: { a: [1, 2, { b: null }], c: 'ü' }, vc: 'héllo 🌊', ch: 'ab',
      bin: Buffer.from([0, 0xff, 0x10, 0]).toString('base64'), vb: '', bl: Buffer.from('deadbeef', 'hex').toString('base64'),
      tx: 'long text', en: "it's", st: ['a', 'c'], st0: [], nul: null, l1: 'café',
    });
  });

  it('resumes BIGINT keys beyond 2^53 exactly', async () => {
    await db().query('CREATE TABLE huge (id BIGINT UNSIGNED PRIMARY KEY)');
    const ids = Array.from({ length: 9 }, (_, i) => (2n ** 53n - 2n + BigInt(i)).toString()).concat(['18446744073709551614', '18446744073709551615']);
    await db().query('INSERT INTO huge VALUES ?', [ids.map((id) => [BigInt(id)])]);
    const snap = await start(['shop.huge']);
    const chunks = await read(snap, 1, 20); // one row per chunk: every row is read after a resume key
    await snap.close();
    expect(chunks.flatMap((c) => c.rows.map((r) => String(r.key)))).toEqual(ids);
    expect(chunks[0].rows[0].key).toBe(Number.MAX_SAFE_INTEGER - 1);
    expect(chunks[3].rows[0].key).toBe('9007199254740993');
  });

  it('resumes decimal and datetime keys exactly', async () => {
    await db().query('CREATE TABLE tkeys (at DATETIME(3) NOT NULL, amount DECIMAL(30,10) NOT NULL, PRIMARY KEY (at, amount))');
    await db().query(`INSERT INTO tkeys VALUES ('2024-01-01 00:00:00', '1.0000000001'), ('2024-01-01 00:00:00', '1.0000000002'),
      ('2024-01-01 00:00:00', '12345678901234567890.5'), ('2024-01-01 00:00:00.001', '-3'), ('2024-01-01 00:00:00.001', '-2.5')`);
    const s1 = await start(['shop.tkeys']);
    const a = await read(s1, 2, 1);
    await s1.close();
    const s2 = await start(['shop.tkeys'], a[0].state);
    const b = await read(s2, 2);
    await s2.close();
    expect([...a, ...b].flatMap((c) => c.rows.map((r) => r.key))).toEqual([
      ['2024-01-01T00:00:00.000', '1.0000000001'], ['2024-01-01T00:00:00.000', '1.0000000002'],
      ['2024-01-01T00:00:00.000', '12345678901234567890.5000000000'], ['2024-01-01T00:00:00.001', '-3.0000000000'],
      ['2024-01-01T00:00:00.001', '-2.5000000000']]);
  });

  it('gets the same position with the global read lock (the MySQL path) as with MariaDB binlog_snapshot_*', async () => {
    await db().query('CREATE TABLE locked (id INT PRIMARY KEY)');
    await db().query('INSERT INTO locked VALUES (1), (2)');
    const a = await start(['shop.locked'], undefined, 'read-lock');
    const b = await start(['shop.locked'], undefined, 'snapshot-status');
    const [{ gtid }] = await db().query<Array<{ gtid: string }>>('SELECT @@gtid_binlog_pos AS gtid');
    expect(a.state.position).toEqual({ ...(await masterPos()), gtid });
    expect(b.state.position).toEqual(a.state.position);
    await db().query('INSERT INTO locked VALUES (3)');
    expect((await read(a, 10)).flatMap((c) => c.rows.map((r) => r.key))).toEqual([1, 2]);
    await a.close();
    await b.close();
  });

  it('under concurrent writes, the snapshot sees exactly the transactions before its position (both strategies)', async () => {
    await db().query('CREATE TABLE w (id INT PRIMARY KEY)');
    const writer = await mysql.createConnection(db().connectionConfig());
    let committed = 0;
    let stop = false;
    const writing = (async () => {
      while (!stop) {
        await writer.query(`INSERT INTO shop.w VALUES (${committed + 1})`);
        committed++;
      }
    })();
    try {
      for (const strategy of ['snapshot-status', 'read-lock', 'snapshot-status', 'read-lock', 'snapshot-status', 'read-lock'] as const) {
        while (committed < 20) await sleep(5);
        const snap = await start(['shop.w'], undefined, strategy);
        const seen = (await read(snap, 100_000)).flatMap((c) => c.rows.map((r) => r.key as number));
        const p = snap.state.position;
        await snap.close();
        const target = committed + 1; // a commit that surely lies past the snapshot position
        while (committed < target) await sleep(2);
        // MariaDB annotates each row event with its statement: find where each insert sits in the binlog.
        const events = await db().query<Array<{ Pos: number; Event_type: string; Info: string }>>(`SHOW BINLOG EVENTS IN '${p.file}'`);
        const at = new Map<number, number>();
        for (const e of events) {
          const m = /^INSERT INTO shop\.w VALUES \((\d+)\)$/.exec(e.Info ?? '');
          if (e.Event_type === 'Annotate_rows' && m) at.set(Number(m[1]), Number(e.Pos));
        }
        const before = [...at.entries()].filter(([, pos]) => pos < p.pos).map(([id]) => id).sort((a, b) => a - b);
        expect(seen.length, strategy).toBeGreaterThan(0);
        expect(seen, strategy).toEqual(before);
        expect([...at.values()].some((pos) => pos > p.pos), `${strategy}: writes continued past the snapshot`).toBe(true);
      }
    } finally {
      stop = true;
      await writing;
      await writer.end();
    }
  });

  it('refuses tables without a primary key and unqualified names; a finished state reads nothing', async () => {
    await db().query('CREATE TABLE nokey (a INT, b INT)');
    await expect(start(['shop.nokey'])).rejects.toThrow(/shop\.nokey has no primary key/);
    await expect(start(['nokey'])).rejects.toThrow(/must be qualified as db\.table/);
    await expect(start(['shop.missing'])).rejects.toThrow(/shop\.missing does not exist/);

    await db().query('CREATE TABLE tiny (id INT PRIMARY KEY)');
    await db().query('CREATE TABLE empty_t (id INT PRIMARY KEY)');
    await db().query('INSERT INTO tiny VALUES (1), (2)');
    const s1 = await start(['shop.tiny', 'shop.empty_t']);
    const chunks = await read(s1, 10);
    expect(chunks.map((c) => [c.table, c.rows.length, c.state.tables[c.table].done])).toEqual([['shop.tiny', 2, true], ['shop.empty_t', 0, true]]);
    await s1.close();
    const p = await masterPos();
    await db().query('INSERT INTO tiny VALUES (3)');
    const s2 = await start(['shop.tiny', 'shop.empty_t'], chunks[1].state);
    expect(await s2.next(10)).toBeNull();
    expect(s2.includesChange('shop.tiny', 3, p)).toBe(false);
    expect(s2.includesChange('shop.other', 3, p)).toBe(false);
    await s2.close();
  });
});
