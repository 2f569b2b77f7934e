import { describe, expect, it } from 'vitest';
import { useMariaDb } from '../../helpers/mariadb.js';

describe('mariadb test harness', () => {
  const db = useMariaDb();

  it('serves ROW binlog over TCP with a password and keeps data across kill + restart', async () => {
    const variables = await db().query<Array<{ Variable_name: string; Value: string }>>(
      "SHOW VARIABLES WHERE Variable_name IN ('log_bin', 'binlog_format', 'binlog_row_image', 'port')");
    expect(Object.fromEntries(variables.map((v) => [v.Variable_name, v.Value]))).toEqual({
      log_bin: 'ON', binlog_format: 'ROW', binlog_row_image: 'FULL', port: String(db().port),
    });
    expect(db().port).not.toBe(3306);
    await db().query('CREATE TABLE t (id INT PRIMARY KEY)');
    await db().query('INSERT INTO t VALUES (1), (2)');
    const port = db().port;
    await db().kill();
    await expect(db().query('SELECT 1')).rejects.toThrow();
    await db().restart();
    expect(db().port).toBe(port);
    expect(await db().query('SELECT id FROM t ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }]);
  });
});
