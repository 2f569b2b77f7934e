/**
 * The tablestore sink against the wire-level TableStore stand-in (test/helpers/tablestore-standin.ts),
 * or against a real instance when TABLESTORE_ENDPOINT, TABLESTORE_INSTANCE,
 * TABLESTORE_ACCESS_KEY_ID and TABLESTORE_ACCESS_KEY_SECRET are set. Rows are read back with the
 * official SDK's GetRange. Fault injection (OTSServerBusy rows, a 10 s outage) needs the stand-in.
 */
import { describe, expect, it } from 'vitest';
import { TablestoreSink, type TablestoreSinkOptions } from '../../../src/connectors/tablestore/sink.js';
import type { TablestoreSinkConfig } from '../../../src/connectors/tablestore/spec.js';
import type { SinkRecord } from '../../../src/connectors/types.js';
import { applies, type StoredVersion } from '../../../src/connectors/upsert.js';
import { createLogger } from '../../../src/core/logger.js';
import type { Row } from '../../../src/core/record.js';
import { rejected } from '../../helpers/errors.js';
import { writeThroughOutages } from '../../helpers/sink-outage.js';
import { realInstance, targetName, useTablestore, type StoredRow, type TablestoreTarget } from '../../helpers/tablestore.js';

const T0 = 1_700_000_000_000;
const SEED = Number(process.env.TEST_SEED ?? Date.now() % 100_000);
const PK = [{ name: 'user_id', type: 'STRING' as const }, { name: 'seq', type: 'INTEGER' as const }];

function config(t: TablestoreTarget, table: string, extra: Partial<TablestoreSinkConfig> = {}): TablestoreSinkConfig {
  return {
    endpoint: t.endpoint, instance: t.instance, accessKeyId: t.accessKeyId, accessKeySecret: t.accessKeySecret, table,
    primaryKey: [{ name: 'user_id', type: 'string' }, { name: 'seq', type: 'integer' }],
    versionColumn: '_v', changelog: false, deletes: 'tombstone', write: 'put', batchSize: 200, concurrency: 4, linger: 20, timeout: 10_000,
    ...extra,
  } as TablestoreSinkConfig;
}

interface Opened { sink: TablestoreSink; dead: Array<{ record: SinkRecord; reason: string }>; logs: string[] }

async function open(t: TablestoreTarget, table: string, extra: Partial<TablestoreSinkConfig> = {}, options: TablestoreSinkOptions = {}): Promise<Opened> {
  const logs: string[] = [];
  const sink = new TablestoreSink('detail', config(t, table, extra), { backoffMs: 20, ...options });
  const dead: Opened['dead'] = [];
  await sink.open({ logger: createLogger({ level: 'debug', json: true, write: (l) => logs.push(l) }), deadLetter: (record, reason) => dead.push({ record, reason }) });
  return { sink, dead, logs };
}

async function writeAll(sink: TablestoreSink, records: SinkRecord[]): Promise<void> {
  for (const r of records) await sink.add(r);
  await sink.flush();
}

const rec = (value: Row, timestamp = T0): SinkRecord => ({ key: null, value, timestamp });

/** Rows without the version column, keyed "user/seq", for comparing contents. */
function byKey(rows: StoredRow[]): Record<string, StoredRow> {
  return Object.fromEntries(rows.map((r) => [`${r.user_id}/${r.seq}`, r]));
}

describe(`tablestore sink against the ${targetName}`, () => {
  const target = useTablestore();

  it('a replay of an old batch after a newer one leaves the newer values (version field; equal versions rewrite)', async () => {
    const t = target();
    const table = await t.createTable('replay', PK);
    const { sink, dead } = await open(t, table, { version: 'updated_at' });
    const batch = (v: number, status: string): SinkRecord[] =>
      Array.from({ length: 50 }, (_, i) => rec({ user_id: `u${i % 10}`, seq: i, status, amount: i * v, updated_at: v }));
    try {
      await writeAll(sink, batch(2, 'new'));
      await writeAll(sink, batch(1, 'old'));
      expect(sink.stale).toBe(50);
      await writeAll(sink, batch(2, 'same-version'));
    } finally {
      await sink.close();
    }
    const rows = await t.readTable(table);
    expect(rows).toHaveLength(50);
    for (const r of rows) expect(r).toEqual({ user_id: r.user_id, seq: r.seq, status: 'same-version', amount: (r.seq as bigint) * 2n, updated_at: 2n, _v: 2n });
    expect(dead).toEqual([]);
  });

  it('a retraction deletes: the tombstone keeps an older replay from resurrecting the row; a key change moves the row', async () => {
    const t = target();
    const table = await t.createTable('retract', PK);
    const { sink, dead } = await open(t, table, { changelog: true, version: 'v' });
    const row = (user: string, seq: number, v: number, note: string): Row => ({ user_id: user, seq, v, note });
    const c = (after: Row): SinkRecord => rec({ op: 'c', before: null, after, source: {} });
    const u = (before: Row, after: Row): SinkRecord => rec({ op: 'u', before, after, source: {} });
    const d = (before: Row): SinkRecord => rec({ op: 'd', before, after: null, source: {} });
    try {
      const history = [c(row('a', 1, 1, 'created')), u(row('a', 1, 1, 'created'), row('a', 1, 2, 'updated')), c(row('b', 1, 1, 'b')), c(row('k', 1, 1, 'k'))];
      await writeAll(sink, history);
      await writeAll(sink, [d(row('a', 1, 2, 'updated')), u(row('k', 1, 1, 'k'), row('k', 2, 3, 'moved'))]);
      // Replay of everything before the delete: nothing comes back.
      await writeAll(sink, history);
    } finally {
      await sink.close();
    }
    const rows = byKey(await t.readTable(table));
    expect(rows['a/1']).toEqual({ user_id: 'a', seq: 1n, _v: 2n, _deleted: true });
    expect(rows['b/1']).toEqual({ user_id: 'b', seq: 1n, v: 1n, note: 'b', _v: 1n });
    expect(rows['k/1']).toEqual({ user_id: 'k', seq: 1n, _v: 3n, _deleted: true });
    expect(rows['k/2']).toEqual({ user_id: 'k', seq: 2n, v: 3n, note: 'moved', _v: 3n });
    expect(dead).toEqual([]);
  });

  it(`random upserts and deletes in random batches end as the shared guard rule (upsert.ts applies()) says (seed ${SEED})`, async () => {
    const t = target();
    const table = await t.createTable('random', PK);
    const { sink, dead } = await open(t, table, { changelog: true, version: 'v' }, { batchSize: 1000 });
    let rnd = SEED;
    const random = (n: number): number => ((rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0) % n);
    const expected = new Map<string, StoredVersion & { val?: number }>();
    try {
      for (let b = 0; b < 12; b++) {
        const batch: SinkRecord[] = [];
        for (let i = random(60); i >= 0; i--) {
          const key = random(8);
          const w = { kind: random(4) === 0 ? 'delete' as const : 'upsert' as const, version: 1 + random(30) };
          const image: Row = { user_id: 'r', seq: key, v: w.version, val: random(1000) };
          batch.push(rec(w.kind === 'delete' ? { op: 'd', before: image, after: null } : { op: 'c', before: null, after: image }));
          const stored = expected.get(String(key));
          if (applies(w, stored)) expected.set(String(key), { version: w.version, deleted: w.kind === 'delete', val: image.val as number });
        }
        await writeAll(sink, batch);
      }
    } finally {
      await sink.close();
    }
    const want = [...expected].sort(([a], [b]) => Number(a) - Number(b)).map(([key, e]) => (e.deleted
      ? { user_id: 'r', seq: BigInt(key), _v: BigInt(e.version), _deleted: true }
      : { user_id: 'r', seq: BigInt(key), v: BigInt(e.version), val: BigInt(e.val!), _v: BigInt(e.version) }));
    expect(await t.readTable(table), `seed ${SEED}`).toEqual(want);
    expect(dead).toEqual([]);
  });

  it('deletes: delete removes the row with a guarded DeleteRow (an older delete does not remove a newer row)', async () => {
    const t = target();
    const table = await t.createTable('delrow', PK);
    const { sink } = await open(t, table, { changelog: true, deletes: 'delete', write: 'update' });
    const img = (user: string, n: number): Row => ({ user_id: user, seq: 1, n });
    try {
      await writeAll(sink, [rec({ op: 'c', before: null, after: img('x', 1) }, T0 + 10), rec({ op: 'c', before: null, after: img('y', 1) }, T0 + 10)]);
      await writeAll(sink, [rec({ op: 'd', before: img('x', 1), after: null }, T0 + 20), rec({ op: 'd', before: img('y', 1), after: null }, T0 + 5)]);
    } finally {
      await sink.close();
    }
    expect(await t.readTable(table)).toEqual([{ user_id: 'y', seq: 1n, n: 1n, _v: BigInt(T0 + 10) }]);
  });

  it('maps types: integers -> INTEGER, other numbers -> DOUBLE, decimal strings stay exact, objects -> JSON; types: overrides', async () => {
    const t = target();
    const table = await t.createTable('types', PK);
    const { sink, dead } = await open(t, table, { types: { price: 'double', count: 'integer', flag: 'boolean' } });
    try {
      await writeAll(sink, [
        rec({ user_id: 'u', seq: 1, i: 9_007_199_254_740_991, d: 1.25, dec: '12345678901234567890.12', b: false, o: { a: [1, 'x'] }, nil: null, price: '19.90', count: '42', flag: 'true' }),
        rec({ user_id: 'u', seq: 2, count: 'many' }),
      ]);
    } finally {
      await sink.close();
    }
    expect(await t.readTable(table)).toEqual([{
      user_id: 'u', seq: 1n, i: 9_007_199_254_740_991n, d: 1.25, dec: '12345678901234567890.12', b: false, o: '{"a":[1,"x"]}', price: 19.9, count: 42n, flag: true, _v: BigInt(T0),
    }]);
    expect(dead.map((x) => x.reason)).toEqual([expect.stringContaining("column 'count' is not an int64 integer")]);
  });

  it('a row the store refuses for good goes to the dead letters with the store\'s message; the rest of the batch is written', async () => {
    const t = target();
    const table = await t.createTable('refuse', PK);
    const { sink, dead } = await open(t, table);
    const records = Array.from({ length: 30 }, (_, i) => rec({ user_id: `u${i}`, seq: i, note: 'ok' }));
    records[7] = rec({ user_id: 'u7', seq: 7, note: 'x'.repeat(2 * 1024 * 1024 + 1) });
    records[19] = rec({ user_id: 'k'.repeat(1500), seq: 19, note: 'key too long' });
    try {
      await writeAll(sink, records);
    } finally {
      await sink.close();
    }
    const rows = await t.readTable(table);
    expect(rows).toHaveLength(28);
    expect(new Set(rows.map((r) => Number(r.seq)))).toEqual(new Set(Array.from({ length: 30 }, (_, i) => i).filter((i) => i !== 7 && i !== 19)));
    expect(dead.map((x) => x.record)).toEqual([records[7], records[19]]);
    expect(dead[0]!.reason).toMatch(/refused the row: OTSParameterInvalid: .*'note'.*2097152/);
    expect(dead[1]!.reason).toMatch(/refused the row: OTSParameterInvalid: .*'user_id'.*1024/);
    expect(sink.stats).toMatchObject({ written: 28, failures: 2 });
  });

  it('splits a batch into BatchWriteRow requests of at most 200 rows; a row twice in one batch is sent once (the newer)', async () => {
    const t = target();
    const table = await t.createTable('split', PK);
    const { sink } = await open(t, table, { batchSize: 1000, linger: 60_000 }, { batchSize: 1000 });
    const before = t.standin?.requests.BatchWriteRow ?? 0;
    const records = Array.from({ length: 900 }, (_, i) => rec({ user_id: `u${i % 450}`, seq: i % 450, n: i }, T0 + i));
    try {
      await writeAll(sink, records);
    } finally {
      await sink.close();
    }
    const rows = await t.readTable(table);
    expect(rows).toHaveLength(450);
    for (const r of rows) expect(r.n).toBe((r.seq as bigint) + 450n);
    expect(sink.stale).toBe(450);
    if (t.standin) expect(t.standin.requests.BatchWriteRow! - before).toBe(3);
  });

  it('a wrong AccessKey secret is refused at open with the store\'s OTSAuthFailed, and the secret is never printed', async () => {
    const t = target();
    const table = await t.createTable('auth', PK);
    const secret = 'wrong-secret-never-printed-42';
    const sink = new TablestoreSink('detail', { ...config(t, table), accessKeySecret: secret });
    const err = await rejected(sink.open({ logger: createLogger({ level: 'error', write: () => undefined }) }));
    expect(err.message).toMatch(new RegExp(`table '${table}'.*OTSAuthFailed`));
    expect(err.retriable).toBe(false);
    expect(err.message).not.toContain(secret);
  });

  it('a missing table fails at open naming the table', async () => {
    const t = target();
    const sink = new TablestoreSink('detail', config(t, 'no_such_table_here'));
    const err = await rejected(sink.open({ logger: createLogger({ level: 'error', write: () => undefined }) }));
    expect(err.message).toMatch(/table 'no_such_table_here'.*OTSObjectNotExist/);
  });

  it.skipIf(realInstance)('OTSServerBusy on some rows: only those rows are retried (wire-level stand-in fault injection; skipped against a real instance)', async () => {
    const t = target();
    const table = await t.createTable('busy', PK);
    const busy = new Set([3, 11, 12, 40]);
    t.standin!.failRows({ match: (pk) => pk[0] === `b-${table}` && busy.has(pk[1] as number), code: 'OTSServerBusy', message: 'Server is busy.', times: 2 });
    const { sink, dead, logs } = await open(t, table);
    try {
      await writeAll(sink, Array.from({ length: 60 }, (_, i) => rec({ user_id: `b-${table}`, seq: i, n: i })));
    } finally {
      await sink.close();
    }
    expect(await t.readTable(table)).toHaveLength(60);
    for (let i = 0; i < 60; i++) {
      expect(t.standin!.rowSends.get(JSON.stringify([`sb-${table}`, `i${i}`])), `row ${i}`).toBe(busy.has(i) ? 3 : 1);
    }
    expect(dead).toEqual([]);
    expect(sink.stats).toMatchObject({ written: 60, failures: 0, retries: 2 });
    expect(logs.some((l) => l.includes('OTSServerBusy'))).toBe(true);
  });

  it.skipIf(realInstance)('the endpoint down for 10 s, and cut mid-request: processing pauses, nothing is lost (wire-level stand-in; skipped against a real instance)', async () => {
    const t = target();
    const table = await t.createTable('outage', PK);
    const { sink, dead, logs } = await open(t, table, { batchSize: 20 }, { maxBuffered: 60, maxRetries: 2 });
    const { blocked, writtenAround } = await writeThroughOutages(sink, 600, (i) => rec({ user_id: 'o', seq: i % 200, n: i }, T0 + i), [
      { at: 150, flushFirst: true, down: () => t.standin!.stop(), forMs: 10_000 },
      // No flush first: a BatchWriteRow may be in flight when the connections are cut.
      { at: 400, flushFirst: false, down: () => t.standin!.stop(), forMs: 1_000 },
    ]);
    expect(blocked).toBeGreaterThan(0);
    expect(writtenAround).toHaveLength(1);
    for (const [whenDown, beforeBack] of writtenAround) expect(beforeBack).toBe(whenDown);
    expect(sink.stats).toMatchObject({ written: 600, failures: 0 });
    const rows = await t.readTable(table);
    expect(rows).toHaveLength(200);
    for (const r of rows) expect(r.n).toBe((r.seq as bigint) + 400n);
    expect(dead).toEqual([]);
    expect(logs.some((l) => l.includes('tablestore endpoint unreachable'))).toBe(true);
    expect(logs.some((l) => l.includes('tablestore endpoint reachable again'))).toBe(true);
  }, 60_000);
});
