/**
 * Regression: an empty table in the initial snapshot yields a chunk with no rows; poll() used to
 * take that for "snapshot over" and read a binlog stream that was not started yet (TypeError on
 * every poll, so the source never got past the snapshot).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { useMariaDb } from '../../helpers/mariadb.js';
import type { RawRecord } from '../../../src/connectors/types.js';
import type { MysqlBinlogSource } from '../../../src/connectors/mysql-binlog/source.js';
import type { MysqlBinlogConfig } from '../../../src/connectors/mysql-binlog/spec.js';
import { binlogConfig, collect, drain, env, openSource } from './source-helpers.js';

describe('mysql-binlog source: snapshot with an empty table', () => {
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
  const summary = (r: RawRecord): [string, string, unknown, unknown] => [env(r).op, String(env(r).source.table), r.key, env(r).after];

  it('snapshots the filled table, skips the empty one, then streams an insert into the empty one', async () => {
    // Snapshot order is by name: the empty table comes first, so the very first chunk is empty.
    await db().query('CREATE TABLE applied (id INT PRIMARY KEY, user_id INT NOT NULL)');
    await db().query('CREATE TABLE repaid (id INT PRIMARY KEY, user_id INT NOT NULL)');
    await db().query('INSERT INTO repaid VALUES (1, 10), (2, 20), (3, 30)');
    // Chunks of 2: the filled table takes two chunks, the empty one a chunk of none.
    const config = binlogConfig(db(), { include: ['shop.applied', 'shop.repaid'], snapshot: 'initial', snapshotChunkSize: 2 });
    const source = await openTracked(config);

    const snapshot = await collect(source, 3);
    expect(snapshot.map(summary)).toEqual([
      ['r', 'repaid', 1, { id: 1, user_id: 10 }], ['r', 'repaid', 2, { id: 2, user_id: 20 }], ['r', 'repaid', 3, { id: 3, user_id: 30 }],
    ]);
    await db().query('INSERT INTO applied VALUES (7, 70)');
    await db().query('UPDATE repaid SET user_id = 21 WHERE id = 2');
    const streamed = await collect(source, 2);
    expect(streamed.map(summary)).toEqual([['c', 'applied', 7, { id: 7, user_id: 70 }], ['u', 'repaid', 2, { id: 2, user_id: 21 }]]);
    expect([...snapshot, ...streamed].map((r) => r.offset)).toEqual([0, 1, 2, 3, 4]);
    expect(await drain(source, 300)).toEqual([]);
  });

  it('resumes a snapshot whose only table left is empty, then streams an insert into it', async () => {
    // Here the empty table comes last: the snapshot ends on an empty chunk.
    await db().query('CREATE TABLE a_limits (id INT PRIMARY KEY, amount INT NOT NULL)');
    await db().query('CREATE TABLE b_overdues (id INT PRIMARY KEY, days INT NOT NULL)');
    await db().query('INSERT INTO a_limits VALUES (1, 100), (2, 200)');
    const config = binlogConfig(db(), { include: ['shop.a_limits', 'shop.b_overdues'], snapshot: 'initial', snapshotChunkSize: 5 });
    const first = await openTracked(config);
    const snapshot = await collect(first, 2);
    expect(snapshot.map(summary)).toEqual([['r', 'a_limits', 1, { id: 1, amount: 100 }], ['r', 'a_limits', 2, { id: 2, amount: 200 }]]);

    // A crash right after the last row: the resumed run has only the empty table to read.
    const resumed = await openTracked({ ...config, serverId: config.serverId + 1 }, snapshot[1].token);
    expect(await drain(resumed, 200)).toEqual([]);
    await db().query('INSERT INTO b_overdues VALUES (5, 3)');
    await db().query('DELETE FROM a_limits WHERE id = 1');
    const expected = [['c', 'b_overdues', 5, { id: 5, days: 3 }], ['d', 'a_limits', 1, null]];
    // Both the uninterrupted source and the resumed one get each change once, with the same offsets.
    for (const source of [first, resumed]) {
      const changes = await collect(source, 2);
      expect(changes.map(summary)).toEqual(expected);
      expect(changes.map((r) => r.offset)).toEqual([2, 3]);
      expect(await drain(source, 200)).toEqual([]);
    }
  });
});
