/**
 * What the wire-level TableStore stand-in answers to the official SDK, as expectations about
 * TableStore itself: run with TABLESTORE_* set, the same file checks them against a real
 * instance, which is how the stand-in's fidelity is verified.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { targetName, useTablestore, type TablestoreTarget } from '../../helpers/tablestore.js';

const require = createRequire(import.meta.url);
type Params = Record<string, unknown>;
interface SdkError { code: unknown; message: string }
interface Client {
  putRow(p: Params): Promise<unknown>;
  updateRow(p: Params): Promise<unknown>;
  deleteRow(p: Params): Promise<unknown>;
  getRow(p: Params): Promise<{ row: { primaryKey?: unknown[]; attributes?: Array<{ columnName: string; columnValue: unknown }> } }>;
  getRange(p: Params): Promise<{ rows: Array<{ primaryKey: Array<{ value: unknown }> }>; nextStartPrimaryKey: unknown[] | null }>;
  batchWriteRow(p: Params): Promise<{ tables: Array<{ isOk: boolean; errorCode: string | null }> }>;
  listTable(p: Params): Promise<{ tableNames: string[] }>;
}
interface SdkLong { toString(): string }
const TS = require('tablestore') as {
  Client: new (o: Params) => Client;
  Long: { fromNumber(n: number): SdkLong };
  Condition: new (e: number, c: unknown) => unknown;
  SingleColumnCondition: new (col: string, v: unknown, cmp: number, passIfMissing: boolean, latest: boolean) => unknown;
  RowExistenceExpectation: { IGNORE: number; EXPECT_EXIST: number; EXPECT_NOT_EXIST: number };
  ComparatorType: { GREATER_THAN: number };
  INF_MIN: object; INF_MAX: object;
  Direction: { FORWARD: string; BACKWARD: string };
};

function client(t: TablestoreTarget, overrides: Params = {}): Client {
  return new TS.Client({ endpoint: t.endpoint, instancename: t.instance, accessKeyId: t.accessKeyId, secretAccessKey: t.accessKeySecret, maxRetries: 0, ...overrides });
}

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    const e = err as SdkError;
    return `${String(e.code)} ${e.message}`;
  }
  throw new Error('the call succeeded');
}

const cond = (existence: number, column: unknown = null): unknown => new TS.Condition(existence, column);
const pk = (id: string, n: number): Params[] => [{ id }, { n: TS.Long.fromNumber(n) }];

describe(`TableStore protocol as the SDK sees it, against the ${targetName}`, () => {
  const target = useTablestore();

  it('row existence expectations and column conditions decide PutRow / UpdateRow / DeleteRow', async () => {
    const t = target();
    const table = await t.createTable('cond', [{ name: 'id', type: 'STRING' }, { name: 'n', type: 'INTEGER' }]);
    const c = client(t);
    await c.putRow({ tableName: table, condition: cond(TS.RowExistenceExpectation.EXPECT_NOT_EXIST), primaryKey: pk('a', 1), attributeColumns: [{ v: TS.Long.fromNumber(5) }] });
    expect(await failure(c.putRow({ tableName: table, condition: cond(TS.RowExistenceExpectation.EXPECT_NOT_EXIST), primaryKey: pk('a', 1), attributeColumns: [{ v: 'x' }] })))
      .toMatch(/^403 .*OTSConditionCheckFail/s);
    const greater = (n: number, passIfMissing: boolean): unknown => new TS.SingleColumnCondition('v', TS.Long.fromNumber(n), TS.ComparatorType.GREATER_THAN, passIfMissing, true);
    await c.updateRow({ tableName: table, condition: cond(TS.RowExistenceExpectation.EXPECT_EXIST, greater(4, false)), primaryKey: pk('a', 1), updateOfAttributeColumns: [{ PUT: [{ w: true }] }] });
    expect(await failure(c.updateRow({ tableName: table, condition: cond(TS.RowExistenceExpectation.IGNORE, greater(9, true)), primaryKey: pk('a', 1), updateOfAttributeColumns: [{ PUT: [{ w: false }] }] })))
      .toMatch(/OTSConditionCheckFail/);
    expect(await failure(c.updateRow({ tableName: table, condition: cond(TS.RowExistenceExpectation.EXPECT_EXIST), primaryKey: pk('missing', 1), updateOfAttributeColumns: [{ PUT: [{ w: false }] }] })))
      .toMatch(/OTSConditionCheckFail/);
    // passIfMissing: a missing column passes or fails the condition as asked.
    await c.putRow({ tableName: table, condition: cond(TS.RowExistenceExpectation.IGNORE, greater(100, true)), primaryKey: pk('b', 1), attributeColumns: [{ x: 1.5 }] });
    expect(await failure(c.putRow({ tableName: table, condition: cond(TS.RowExistenceExpectation.IGNORE, greater(100, false)), primaryKey: pk('b', 1), attributeColumns: [{ x: 2.5 }] })))
      .toMatch(/OTSConditionCheckFail/);
    const a = await c.getRow({ tableName: table, primaryKey: pk('a', 1) });
    expect(Object.fromEntries(a.row.attributes!.map((x) => [x.columnName, String(x.columnValue)]))).toEqual({ v: '5', w: 'true' });
    await c.deleteRow({ tableName: table, condition: cond(TS.RowExistenceExpectation.EXPECT_EXIST), primaryKey: pk('a', 1) });
    expect((await c.getRow({ tableName: table, primaryKey: pk('a', 1) })).row).toEqual({});
  });

  it('GetRange pages by 5000 rows (nextStartPrimaryKey), both directions, in primary key order', async () => {
    const t = target();
    const table = await t.createTable('range', [{ name: 'id', type: 'STRING' }, { name: 'n', type: 'INTEGER' }]);
    const c = client(t);
    const ns = Array.from({ length: 5200 }, (_, i) => i);
    for (let i = 0; i < ns.length; i += 200) {
      const rows = ns.slice(i, i + 200).map((n) => ({ type: 'PUT', condition: cond(TS.RowExistenceExpectation.IGNORE), primaryKey: pk('r', n), attributeColumns: [{ v: n }], returnContent: { returnType: 0 } }));
      const res = await c.batchWriteRow({ tables: [{ tableName: table, rows }] });
      expect(res.tables.every((r) => r.isOk)).toBe(true);
    }
    const first = await c.getRange({ tableName: table, direction: TS.Direction.FORWARD, inclusiveStartPrimaryKey: [{ id: TS.INF_MIN }, { n: TS.INF_MIN }], exclusiveEndPrimaryKey: [{ id: TS.INF_MAX }, { n: TS.INF_MAX }] });
    expect(first.rows.length).toBeGreaterThan(0);
    expect(first.rows.length).toBeLessThanOrEqual(5000);
    expect(first.nextStartPrimaryKey).not.toBeNull();
    const seen = first.rows.map((r) => Number(String(r.primaryKey[1]!.value)));
    let next = first.nextStartPrimaryKey;
    while (next) {
      const page = await c.getRange({ tableName: table, direction: TS.Direction.FORWARD, inclusiveStartPrimaryKey: next.map((p) => { const q = p as { name: string; value: unknown }; return { [q.name]: q.value }; }), exclusiveEndPrimaryKey: [{ id: TS.INF_MAX }, { n: TS.INF_MAX }] });
      seen.push(...page.rows.map((r) => Number(String(r.primaryKey[1]!.value))));
      next = page.nextStartPrimaryKey;
    }
    expect(seen).toEqual(ns);
    const back = await c.getRange({ tableName: table, direction: TS.Direction.BACKWARD, inclusiveStartPrimaryKey: pk('r', 10), exclusiveEndPrimaryKey: pk('r', 7), limit: 10 });
    expect(back.rows.map((r) => Number(String(r.primaryKey[1]!.value)))).toEqual([10, 9, 8]);
  });

  it('BatchWriteRow refuses more than 200 rows and a primary key of the wrong type as a whole request', async () => {
    const t = target();
    const table = await t.createTable('limits', [{ name: 'id', type: 'STRING' }, { name: 'n', type: 'INTEGER' }]);
    const c = client(t);
    const row = (n: number): Params => ({ type: 'PUT', condition: cond(TS.RowExistenceExpectation.IGNORE), primaryKey: pk('x', n), attributeColumns: [{ v: 1 }], returnContent: { returnType: 0 } });
    expect(await failure(c.batchWriteRow({ tables: [{ tableName: table, rows: Array.from({ length: 201 }, (_, i) => row(i)) }] }))).toMatch(/^400 .*OTSParameterInvalid/s);
    const wrong = { ...row(1), primaryKey: [{ id: 'x' }, { n: 'not-an-integer' }] };
    expect(await failure(c.batchWriteRow({ tables: [{ tableName: table, rows: [row(2), wrong] }] }))).toMatch(/OTSParameterInvalid.*(type|TYPE)/s);
  });

  it('refuses a wrong secret, an unknown key id and another instance name with OTSAuthFailed (403)', async () => {
    const t = target();
    expect(await failure(client(t, { secretAccessKey: 'not-the-secret' }).listTable({}))).toMatch(/^403 .*OTSAuthFailed/s);
    expect(await failure(client(t, { accessKeyId: 'LTAI-not-a-key' }).listTable({}))).toMatch(/^403 .*OTSAuthFailed/s);
    expect(await failure(client(t, { instancename: 'some-other-instance' }).listTable({}))).toMatch(/^403 /);
    expect((await client(t).listTable({})).tableNames).toEqual(expect.any(Array));
  });
});
