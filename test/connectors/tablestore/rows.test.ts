import { describe, expect, it } from 'vitest';
import { RowMapper, collapse, toInt64, type RowOp } from '../../../src/connectors/tablestore/rows.js';
import { classify, otsError } from '../../../src/connectors/tablestore/sdk.js';
import type { TablestoreSinkConfig } from '../../../src/connectors/tablestore/spec.js';
import type { SinkRecord } from '../../../src/connectors/types.js';
import type { Row } from '../../../src/core/record.js';
import { thrown } from '../../helpers/errors.js';

const base = {
  endpoint: 'http://x', instance: 'i', accessKeyId: 'k', accessKeySecret: 's', table: 't',
  primaryKey: [{ name: 'user_id', type: 'string' }, { name: 'seq', type: 'integer', value: '{n}' }],
  versionColumn: '_v', changelog: false, deletes: 'tombstone', write: 'put', batchSize: 200, concurrency: 4, linger: 20, timeout: 10_000,
} as TablestoreSinkConfig;

const mapper = (extra: Partial<TablestoreSinkConfig> = {}): RowMapper => new RowMapper({ ...base, ...extra }, 'tablestore sink \'t\'');
const rec = (value: Row, timestamp = 1000): SinkRecord => ({ key: 'k', value, timestamp });

describe('tablestore row mapping', () => {
  it('takes primary key columns from templates and every other field as a column, the version cell last', () => {
    const [op] = mapper().toOps(rec({ user_id: 'u1', n: '7', amount: 12, rate: 0.5, note: null }));
    expect(op).toMatchObject({ kind: 'upsert', pk: [['user_id', 'u1'], ['seq', 7n]], version: 1000n, clear: ['note'] });
    expect(op!.cells).toEqual([['n', '7'], ['amount', 12n], ['rate', 0.5], ['_v', 1000n]]);
  });

  it('reads versions by the shared rule (a number or numeric string) and keeps them as int64', () => {
    const m = mapper({ version: 'ts' });
    expect(m.toOps(rec({ user_id: 'u', n: 1, ts: 5 }))[0]!.version).toBe(5n);
    expect(m.toOps(rec({ user_id: 'u', n: 1, ts: '1700000000000' }))[0]!.version).toBe(1_700_000_000_000n);
    expect(thrown(() => m.toOps(rec({ user_id: 'u', n: 1, ts: 1.5 }))).message).toMatch(/version field 'ts' is not an int64/);
    expect(thrown(() => m.toOps(rec({ user_id: 'u', n: 1, ts: 'soon' }))).message).toMatch(/version field 'ts' is not a finite number/);
    expect(thrown(() => m.toOps(rec({ user_id: 'u', n: 1 }))).message).toMatch(/version field 'ts' is not a finite number/);
  });

  it('refuses rows whose fields collide with the version or tombstone column, and bad key values', () => {
    expect(thrown(() => mapper().toOps(rec({ user_id: 'u', n: 1, _v: 3 }))).message).toMatch(/'_v' collides with the version column/);
    expect(thrown(() => mapper().toOps(rec({ user_id: 'u', n: 1, _deleted: 3 }))).message).toMatch(/tombstone/);
    expect(thrown(() => mapper().toOps(rec({ user_id: 'u', n: 'x' }))).message).toMatch(/primary key 'seq' is not an int64/);
    expect(thrown(() => mapper().toOps(rec({ n: 1 }))).message).toMatch(/template field 'user_id' is missing/);
    expect(thrown(() => mapper({ columns: ['user_id'] })).code).toBe('TRIB_TOPOLOGY_INVALID');
  });

  it('maps listed or renamed columns only; a listed field missing from the row is the record\'s error', () => {
    const [op] = mapper({ columns: { amt: 'amount' } }).toOps(rec({ user_id: 'u', n: 1, amount: '1.10', other: 1 }));
    expect(op!.cells).toEqual([['amt', '1.10'], ['_v', 1000n]]);
    expect(thrown(() => mapper({ columns: ['amount'] }).toOps(rec({ user_id: 'u', n: 1 }))).message).toMatch(/field 'amount' \(column 'amount'\) is missing/);
  });

  it('changelog input: c/r/u upsert the after-image, d deletes by the before-image, a key change deletes the old key', () => {
    const m = mapper({ changelog: true, version: 'v' });
    const img = (user: string, v: number): Row => ({ user_id: user, n: 1, v });
    expect(m.toOps(rec({ op: 'r', before: null, after: img('a', 1) })).map((o) => o.kind)).toEqual(['upsert']);
    expect(m.toOps(rec({ op: 'd', before: img('a', 4), after: null }))).toMatchObject([{ kind: 'delete', pk: [['user_id', 'a'], ['seq', 1n]], version: 4n }]);
    expect(m.toOps(rec({ op: 'u', before: img('a', 1), after: img('a', 2) })).map((o) => o.kind)).toEqual(['upsert']);
    expect(m.toOps(rec({ op: 'u', before: img('a', 1), after: img('b', 2) }))).toMatchObject([
      { kind: 'delete', pk: [['user_id', 'a'], ['seq', 1n]], version: 2n },
      { kind: 'upsert', pk: [['user_id', 'b'], ['seq', 1n]], version: 2n },
    ]);
    expect(thrown(() => m.toOps(rec({ op: 'x', before: null, after: null }))).message).toMatch(/no op c, u, d or r/);
    expect(thrown(() => m.toOps(rec({ op: 'd', before: null, after: null }))).message).toMatch(/needs an object 'before' image/);
  });

  it('collapses a batch to one operation per row in guard order: higher version, then a delete over an upsert, then the later', () => {
    const op = (id: string, kind: RowOp['kind'], version: number, tag: string): RowOp =>
      ({ kind, id, pk: [['k', id]], cells: [['tag', tag]], clear: [], version: BigInt(version), record: rec({}) });
    const { winners, superseded } = collapse([
      op('a', 'upsert', 2, 'a2'), op('a', 'upsert', 1, 'a1'), op('a', 'upsert', 2, 'a2-later'),
      op('b', 'delete', 5, 'b-del'), op('b', 'upsert', 5, 'b-up'),
      op('c', 'upsert', 1, 'c'),
    ]);
    expect(winners.map((w) => `${w.id}:${w.kind}:${w.cells[0]?.[1]}`)).toEqual(['a:upsert:a2-later', 'b:delete:b-del', 'c:upsert:c']);
    expect(superseded).toHaveLength(3);
  });

  it('int64 bounds', () => {
    expect(toInt64('-9223372036854775808', 'x')).toBe(-(2n ** 63n));
    expect(thrown(() => toInt64('9223372036854775808', 'x')).message).toMatch(/not an int64/);
  });
});

describe('tablestore errors', () => {
  it('decodes the protobuf error body the SDK leaves in err.message, and classifies codes', () => {
    // What SDK 5.6.5 makes of a 503 with body Error{code: OTSServerBusy, message: "Server is busy."}.
    const body = Buffer.concat([Buffer.from([0x0a, 13]), Buffer.from('OTSServerBusy'), Buffer.from([0x12, 15]), Buffer.from('Server is busy.')]);
    const e = otsError({ code: 503, message: `${body.toString()} requestId:abc` });
    expect(e).toEqual({ code: 'OTSServerBusy', message: 'Server is busy.', status: 503 });
    expect(otsError({ code: 'NetworkingError', message: 'connect ECONNREFUSED' })).toEqual({ code: 'NetworkingError', message: 'connect ECONNREFUSED' });
    expect(classify('OTSServerBusy')).toBe('throttled');
    expect(classify('OTSConditionCheckFail')).toBe('stale');
    expect(classify('NetworkingError')).toBe('unavailable');
    expect(classify('OTSPartitionUnavailable')).toBe('transient');
    expect(classify('OTSParameterInvalid')).toBe('record');
    expect(classify('OTSAuthFailed')).toBe('fatal');
    expect(classify('SomethingNew', 502)).toBe('transient');
  });
});
