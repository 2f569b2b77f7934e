/**
 * The sql sink against real servers the harness starts (PostgreSQL from Debian's binaries,
 * mariadbd): one file, run for each dialect. Tables are created from the DDL `tributary plan`
 * prints (sqlSinkDdl), so the printed DDL is tested too.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SqlSink } from '../../../src/connectors/sql/sink.js';
import type { SqlSinkConfig } from '../../../src/connectors/sql/spec.js';
import type { SinkRecord } from '../../../src/connectors/types.js';
import type { Row } from '../../../src/core/record.js';
import { silentLogger } from '../../../src/core/logger.js';
import { rejected } from '../../helpers/errors.js';
import { createTable, dialects, openSink, sinkConfig, tableRows, useStore, type OpenedSink } from './stores.js';

const T0 = 1_700_000_000_000;
const rec = (value: Row, timestamp = T0): SinkRecord => ({ key: null, value, timestamp });
const cdc = (op: string, before: Row | null, after: Row | null, timestamp = T0): SinkRecord => rec({ op, before, after, source: { table: 't' } }, timestamp);

describe.each(dialects)('sql sink against $name', (d) => {
  const store = useStore(d);
  const opened: OpenedSink[] = [];
  afterEach(async () => { for (const o of opened.splice(0)) await o.sink.close(); });

  async function setUp(overrides: Partial<SqlSinkConfig>, extra = ''): Promise<OpenedSink> {
    const config = sinkConfig(store(), overrides);
    await createTable(store(), config, extra);
    const o = await openSink(config);
    opened.push(o);
    return o;
  }

  const rows = (table = 'rows_t', cols = ['id', 'user_id', 'amount', 'status', '_version']) => tableRows(store(), table, cols);

  it('upserts by key, keeps decimals and big integers exact, and writes the version', async () => {
    const o = await setUp({ version: 'ver' });
    await o.write([
      rec({ id: '9007199254740993', user_id: 'u1', amount: '12345678901234.56', status: 'new', ver: 1 }),
      rec({ id: 2, user_id: 'u2', amount: 0.1, status: 'new', ver: 1 }),
      rec({ id: 2, user_id: 'u2', amount: '7.25', status: 'ok', ver: 2 }),
    ]);
    expect(await rows()).toEqual([
      { id: '2', user_id: 'u2', amount: '7.25', status: 'ok', _version: '2' },
      { id: '9007199254740993', user_id: 'u1', amount: '12345678901234.56', status: 'new', _version: '1' },
    ]);
    expect(o.sink.stats).toMatchObject({ written: 3, failures: 0 });
  });

  it('stores timestamps as UTC instants: epoch ms, ISO with an offset, naive ISO taken as UTC', async () => {
    const o = await setUp({ columns: { id: { type: 'bigint', nullable: true }, at: { type: 'timestamp', nullable: true }, day: { type: 'date', nullable: true }, doc: { type: 'json', nullable: true }, ok: { type: 'boolean', nullable: true } } });
    await o.write([
      rec({ id: 1, at: T0 + 123, day: '2026-11-01', doc: { a: [1, 'x'] }, ok: true }),
      rec({ id: 2, at: '2026-11-01T10:00:00.5+02:00', day: T0, doc: null, ok: 0 }),
      rec({ id: 3, at: '2026-11-01 08:00:00', day: '2026-11-01T23:30:00Z', doc: 'text', ok: 'true' }),
    ]);
    const epoch = store().dialect === 'postgres' ? `(extract(epoch from "at") * 1000)::bigint::text` : 'CAST(ROUND(UNIX_TIMESTAMP(`at`) * 1000) AS CHAR)';
    const day = store().dialect === 'postgres' ? `"day"::text` : 'CAST(`day` AS CHAR)';
    const got = await store().query(`SELECT ${epoch} AS ms, ${day} AS day FROM rows_t ORDER BY id`);
    expect(got.map((r) => [String(r.ms), String(r.day)])).toEqual([
      [String(T0 + 123), '2026-11-01'],
      [String(Date.parse('2026-11-01T08:00:00.5Z')), '2023-11-14'],
      [String(Date.parse('2026-11-01T08:00:00Z')), '2026-11-01'],
    ]);
  });

  it('a replay of an old batch after a newer one leaves the newer values (across batches and within one)', async () => {
    const o = await setUp({ version: 'ver' });
    const batch = (ver: number, status: string) => [1, 2, 3].map((id) => rec({ id, user_id: `u${id}`, amount: `${ver}.00`, status, ver }));
    await o.write(batch(5, 'new'));
    await o.write(batch(3, 'old'));
    expect((await rows()).map((r) => [r.id, r.status, r._version])).toEqual([['1', 'new', '5'], ['2', 'new', '5'], ['3', 'new', '5']]);
    await o.write([...batch(7, 'newest'), ...batch(6, 'older')]);
    expect((await rows()).map((r) => [r.id, r.status, r._version])).toEqual([['1', 'newest', '7'], ['2', 'newest', '7'], ['3', 'newest', '7']]);
    // An equal version applies: a retried batch rewrites the same values.
    await o.write(batch(7, 'same'));
    expect((await rows()).map((r) => r.status)).toEqual(['same', 'same', 'same']);
  });

  it('uses the event time as the version by default', async () => {
    const o = await setUp({});
    await o.write([rec({ id: 1, user_id: 'a', amount: 1, status: 'late' }, T0 + 10)]);
    await o.write([rec({ id: 1, user_id: 'a', amount: 2, status: 'early' }, T0 + 5)]);
    expect(await rows()).toEqual([{ id: '1', user_id: 'a', amount: '1.00', status: 'late', _version: String(T0 + 10) }]);
  });

  it('changelog input: a retraction deletes (tombstone), an older replay after it does not resurrect, a newer insert does', async () => {
    const o = await setUp({ changelog: true, version: 'ver' });
    const v = (id: number, ver: number, status = 'new') => ({ id, user_id: 'u', amount: '1.50', status, ver });
    await o.write([cdc('c', null, v(1, 1)), cdc('c', null, v(2, 1)), cdc('u', v(2, 1), v(2, 2, 'ok')), cdc('r', null, v(3, 1))]);
    await o.write([cdc('d', v(1, 1), null)]);
    const live = async () => (await tableRows(store(), 'rows_t', ['id', 'status', '_version', '_deleted'])).map((r) => [r.id, r.status, r._version, r._deleted === 'true' || r._deleted === '1']);
    expect(await live()).toEqual([['1', 'new', '1', true], ['2', 'ok', '2', false], ['3', 'new', '1', false]]);
    // Backfill replays the insert of 1 (same version as the delete's before-image) and an older update of 2.
    await o.write([cdc('c', null, v(1, 1, 'again')), cdc('u', v(2, 0), v(2, 1, 'stale'))]);
    expect(await live()).toEqual([['1', 'new', '1', true], ['2', 'ok', '2', false], ['3', 'new', '1', false]]);
    // Delete then replay of the insert in ONE batch, and a key-moving update (3 -> 4).
    await o.write([cdc('d', v(2, 2), null), cdc('c', null, v(2, 2, 'zombie')), cdc('u', v(3, 1), v(4, 3, 'moved'))]);
    expect(await live()).toEqual([['1', 'new', '1', true], ['2', 'ok', '2', true], ['3', 'new', '3', true], ['4', 'moved', '3', false]]);
    await o.write([cdc('c', null, v(1, 9, 'reborn'))]);
    expect((await live())[0]).toEqual(['1', 'reborn', '9', false]);
    // A delete of a key never written leaves a tombstone too (a later replay of its insert stays out).
    await o.write([cdc('d', { id: 50, ver: 4 }, null), cdc('c', null, v(50, 4))]);
    expect((await live()).find((r) => r[0] === '50')).toEqual(['50', null, '4', true]);
    expect(o.dead).toEqual([]);
  });

  it('dead-letters rows the store refuses for good with its message and writes the rest of their batch', async () => {
    const check = store().dialect === 'postgres' ? 'CONSTRAINT amount_positive CHECK (amount >= 0)' : 'CONSTRAINT amount_positive CHECK (`amount` >= 0)';
    const o = await setUp({ columns: { id: { type: 'bigint', nullable: true }, n: { type: 'integer', nullable: true }, amount: { type: 'decimal', nullable: true }, status: { type: 'varchar', length: 8, nullable: true } } }, check);
    const good = (id: number) => rec({ id, n: id, amount: '1.00', status: 'ok' });
    await o.write([
      good(1),
      rec({ id: 2, n: 1, amount: '1.00', status: 'much-too-long-for-8' }),
      good(3),
      rec({ id: 4, n: 2 ** 40, amount: '1.00', status: 'ok' }),
      rec({ id: 5, n: 1, amount: '-5.00', status: 'ok' }),
      rec({ id: 6, n: 'seven', amount: '1.00', status: 'ok' }),
      good(7),
    ]);
    expect((await tableRows(store(), 'rows_t', ['id'])).map((r) => r.id)).toEqual(['1', '3', '7']);
    const reasons = Object.fromEntries(o.dead.map((x) => [x.record.value.id as number, x.reason]));
    expect(Object.keys(reasons).map(Number).sort()).toEqual([2, 4, 5, 6]);
    const pg = store().dialect === 'postgres';
    expect(reasons[2]).toMatch(pg ? /value too long for type character varying\(8\)/ : /Data too long for column 'status'/);
    expect(reasons[4]).toMatch(pg ? /out of range for type integer/ : /Out of range value for column 'n'/);
    expect(reasons[5]).toMatch(/amount_positive/);
    expect(reasons[6]).toMatch(/^sql sink 'rows': column 'n' \(integer\): cannot convert "seven"/);
    for (const r of Object.values(reasons)) expect(r).toMatch(/^sql sink 'rows': /);
    expect(o.sink.stats).toMatchObject({ written: 3, failures: 4 });
  });

  it('fails at open, naming the table or the missing columns, before any row', async () => {
    const config = sinkConfig(store(), { table: 'no_such_table' });
    const missing = new SqlSink('rows', config, { openTimeoutMs: 1_000 });
    expect((await rejected(missing.open({ logger: silentLogger }))).message)
      .toMatch(/^sql sink 'rows': table 'no_such_table' does not exist in 127\.0\.0\.1:\d+\/\w+ \(create it: `tributary plan` prints the DDL/);
    await missing.close();

    const full = sinkConfig(store(), { changelog: true });
    await createTable(store(), full);
    await store().query('ALTER TABLE rows_t DROP COLUMN status');
    const noColumn = new SqlSink('rows', full);
    expect((await rejected(noColumn.open({ logger: silentLogger }))).message).toMatch(/table 'rows_t' has no column 'status'/);
    await noColumn.close();

    const noKey = new SqlSink('rows', { ...full, key: ['user_id'], columns: { ...full.columns } });
    await createTable(store(), full);
    expect((await rejected(noKey.open({ logger: silentLogger }))).message).toMatch(/no primary or unique key on exactly \(user_id\)/);
    await noKey.close();
  });
});
