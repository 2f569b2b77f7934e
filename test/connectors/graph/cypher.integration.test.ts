import { afterEach, describe, expect, it } from 'vitest';
import { GraphSink, type GraphSinkOptions } from '../../../src/connectors/graph/sink.js';
import type { GraphSinkConfig } from '../../../src/connectors/graph/spec.js';
import type { SinkRecord } from '../../../src/connectors/types.js';
import { createLogger, silentLogger } from '../../../src/core/logger.js';
import { useNeo4j } from '../../helpers/neo4j.js';
import { writeThroughOutages } from '../../helpers/sink-outage.js';
import { T0, change, rec, relationsConfig, row } from './fixtures.js';

describe('graph sink (cypher) against a real Neo4j Community server', () => {
  const neo = useNeo4j();
  const sinks: GraphSink[] = [];
  const dead: Array<{ record: SinkRecord; reason: string }> = [];

  afterEach(async () => {
    for (const s of sinks.splice(0)) await s.close();
    dead.length = 0;
    await neo().query('MATCH (n) DETACH DELETE n');
  });

  async function open(over: Partial<GraphSinkConfig> = {}, options: GraphSinkOptions = {}): Promise<GraphSink> {
    const config = relationsConfig({ url: neo().url, user: neo().user, password: neo().password }, over);
    const sink = new GraphSink('relations', config, options);
    await sink.open({ logger: silentLogger, deadLetter: (record, reason) => dead.push({ record, reason }) });
    sinks.push(sink);
    return sink;
  }

  async function write(sink: GraphSink, records: SinkRecord[]): Promise<void> {
    for (const r of records) await sink.add(r);
    await sink.flush();
  }

  const users = (): Promise<Array<Record<string, unknown>>> =>
    neo().query('MATCH (v:User) RETURN v.id AS id, v.name AS name, v.age AS age, v._version AS ver, v._deleted AS deleted ORDER BY id');
  const edges = (type: string): Promise<Array<Record<string, unknown>>> =>
    neo().query(`MATCH (a)-[e:${type}]->(b) RETURN a.id AS from, b.id AS to, e._version AS ver, e._deleted AS deleted, properties(e) AS props ORDER BY from, to`);

  it('writes vertices, edges and properties (whole numbers as integers) and creates the id constraints at open()', async () => {
    const sink = await open();
    const constraints = await neo().query('SHOW CONSTRAINTS YIELD name, labelsOrTypes, properties, type RETURN name, labelsOrTypes, properties, type ORDER BY name');
    expect(constraints).toEqual(['Device', 'Phone', 'User'].map((label) => ({
      name: `tributary_${label}_id`, labelsOrTypes: [label], properties: ['id'], type: 'UNIQUENESS',
    })));
    await write(sink, [rec(row('u1'), T0), rec(row('u2', { age: 41.5, phone: 'p-shared' }), T0 + 1), rec(row('u3', { phone: 'p-shared' }), T0 + 2)]);
    expect(await users()).toEqual([
      { id: 'u1', name: 'name-u1', age: 30, ver: T0, deleted: null },
      { id: 'u2', name: 'name-u2', age: 41.5, ver: T0 + 1, deleted: null },
      { id: 'u3', name: 'name-u3', age: 30, ver: T0 + 2, deleted: null },
    ]);
    const types = await neo().query('MATCH (v:User {id: "u1"}) RETURN valueType(v.age) AS age, valueType(v._version) AS ver');
    expect(types).toEqual([{ age: 'INTEGER NOT NULL', ver: 'INTEGER NOT NULL' }]);
    expect(await neo().query('MATCH (p:Phone) RETURN p.id AS id, p.carrier AS carrier ORDER BY id')).toEqual([
      { id: 'p-shared', carrier: 'cm' }, { id: 'p-u1', carrier: 'cm' },
    ]);
    expect((await edges('HAS_PHONE')).map((e) => [e.from, e.to])).toEqual([['u1', 'p-u1'], ['u2', 'p-shared'], ['u3', 'p-shared']]);
    expect((await edges('USES_DEVICE'))[0]).toMatchObject({ from: 'u1', to: 'd-u1', props: { first_seen: T0, _version: T0 } });
    expect(sink.stats).toMatchObject({ written: 3, failures: 0, batches: 1 });
  });

  it('a replay of an older batch after a newer one leaves the newer values (version from a row field)', async () => {
    const sink = await open({ version: 'ver' });
    const newer = [rec(row('u1', { name: 'new', ver: 20 }), T0), rec(row('u2', { name: 'new', seen_at: 2, ver: 20 }), T0)];
    const older = [rec(row('u1', { name: 'old', ver: 10 }), T0 + 99), rec(row('u2', { name: 'old', seen_at: 1, ver: 10 }), T0 + 99)];
    await write(sink, newer);
    await write(sink, older);
    expect((await users()).map((u) => [u.id, u.name, u.ver])).toEqual([['u1', 'new', 20], ['u2', 'new', 20]]);
    expect((await edges('USES_DEVICE')).find((e) => e.from === 'u2')?.props).toMatchObject({ first_seen: 2, _version: 20 });
    // 2 rows x (3 vertices + 2 edges) refused by the guard.
    expect(sink.stale).toBe(10);
    // Within one batch too: the newer write wins whatever the order.
    await write(sink, [rec(row('u3', { name: 'b', ver: 5 }), T0), rec(row('u3', { name: 'a', ver: 4 }), T0)]);
    expect((await users()).find((u) => u.id === 'u3')).toMatchObject({ name: 'b', ver: 5 });
  });

  it('changelog: a retraction deletes (tombstone) and an older replay after it does not resurrect; a newer insert does', async () => {
    const sink = await open({ changelog: true });
    const r1 = row('u1');
    await write(sink, [change('c', null, r1, T0), change('c', null, row('u2', { device_id: 'd-u1' }), T0)]);
    await write(sink, [change('d', r1, null, T0 + 10)]);
    const afterDelete = await users();
    expect(afterDelete[0]).toEqual({ id: 'u1', name: null, age: null, ver: T0 + 10, deleted: true });
    expect(afterDelete[1]).toMatchObject({ id: 'u2', deleted: null });
    // The shared device stays (onDelete: keep); u1's edges are tombstones, u2's edge is live.
    expect(await neo().query('MATCH (d:Device) RETURN d.id AS id, d._deleted AS deleted ORDER BY id')).toEqual([{ id: 'd-u1', deleted: null }]);
    expect((await edges('USES_DEVICE')).map((e) => [e.from, e.to, e.deleted])).toEqual([['u1', 'd-u1', true], ['u2', 'd-u1', null]]);
    expect((await edges('HAS_PHONE')).map((e) => [e.from, e.deleted])).toEqual([['u1', true], ['u2', null]]);

    // A backfill replays the insert (older event time) after the delete: nothing comes back.
    await write(sink, [change('c', null, r1, T0), change('u', r1, { ...r1, name: 'replayed' }, T0 + 5)]);
    expect((await users())[0]).toMatchObject({ id: 'u1', name: null, deleted: true });
    expect((await edges('USES_DEVICE'))[0]).toMatchObject({ from: 'u1', deleted: true });

    // A newer insert revives the vertex and its edges.
    await write(sink, [change('c', null, { ...r1, name: 'back' }, T0 + 20)]);
    expect((await users())[0]).toEqual({ id: 'u1', name: 'back', age: 30, ver: T0 + 20, deleted: null });
    expect((await edges('USES_DEVICE'))[0]).toMatchObject({ from: 'u1', deleted: null, ver: T0 + 20 });
  });

  it('changelog: an update that changes the device moves the edge (the old one becomes a tombstone)', async () => {
    const sink = await open({ changelog: true });
    const before = row('u1');
    await write(sink, [change('c', null, before, T0), change('u', before, { ...before, device_id: 'd-new' }, T0 + 1)]);
    expect((await edges('USES_DEVICE')).map((e) => [e.to, e.deleted, e.ver])).toEqual([['d-new', null, T0 + 1], ['d-u1', true, T0 + 1]]);
    expect((await edges('HAS_PHONE')).map((e) => [e.to, e.deleted])).toEqual([['p-u1', null]]);
  });

  it('a null vertex id skips that vertex and its edges; a missing field or a bad version is dead-lettered', async () => {
    const sink = await open({ version: 'ver' });
    await write(sink, [
      rec(row('u1', { device_id: null, ver: 1 }), T0),
      rec(row('u2', { ver: 1, phone: undefined }), T0),
      rec(row('u3', { ver: 'soon' }), T0),
    ].map((r) => ({ ...r, value: JSON.parse(JSON.stringify(r.value)) as typeof r.value })));
    expect((await users()).map((u) => u.id)).toEqual(['u1']);
    expect(await neo().query('MATCH (d:Device) RETURN count(d) AS n')).toEqual([{ n: 0 }]);
    expect((await edges('HAS_PHONE')).map((e) => [e.from, e.to])).toEqual([['u1', 'p-u1']]);
    expect(dead.map((d) => [d.record.key, d.reason])).toEqual([
      ['u2', "graph sink 'relations': template field 'phone' is missing from the record"],
      ['u3', `graph sink 'relations': version field 'ver' is not a finite number (got "soon")`],
    ]);
  });

  it('a row Neo4j refuses for good is dead-lettered with Neo4j\'s message; the rest of its batch is written', async () => {
    const sink = await open();
    const batch = Array.from({ length: 9 }, (_, i) => rec(row(`u${i}`), T0 + i));
    batch[5] = rec(row('u5', { name: { first: 'A', last: 'B' } }), T0 + 5);
    await write(sink, batch);
    expect((await users()).map((u) => u.id)).toEqual(['u0', 'u1', 'u2', 'u3', 'u4', 'u6', 'u7', 'u8']);
    expect((await edges('USES_DEVICE')).length).toBe(8);
    expect(dead).toHaveLength(1);
    expect(dead[0]!.record).toBe(batch[5]);
    expect(dead[0]!.reason).toMatch(/^graph sink 'relations': bolt:\/\/127\.0\.0\.1:\d+ refused the row: .*Property values can only be of primitive types or arrays thereof.*\[Neo\.ClientError\.Statement\.TypeError\]/s);
    expect(sink.stats).toMatchObject({ written: 8, failures: 1 });
  });

  it('a wrong password fails open() with Neo4j\'s reason and never prints the password', async () => {
    const wrong = 'not-the-password-1234';
    const err = await open({ password: wrong }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/graph sink 'relations': preparing bolt:\/\/127\.0\.0\.1:\d+ failed: .*authentication failure.*\[Neo\.ClientError\.Security\.Unauthorized\]/s);
    expect((err as Error).message).not.toContain(wrong);
  });

  it('Neo4j down for 10 s: processing pauses (add() blocks) and resumes with nothing lost', async () => {
    const logs: string[] = [];
    const logger = createLogger({ level: 'debug', json: true, write: (line) => logs.push(line) });
    const config = relationsConfig({ url: neo().url, user: neo().user, password: neo().password }, { batchSize: 20 });
    // maxRetries 1: an outage must not use up the retry budget (it is backpressure, not failure).
    // Down 10 s, but a JVM restart on a busy 2-core machine takes up to ~80 s more: wait that long.
    const sink = new GraphSink('outage', config, { maxBuffered: 60, maxRetries: 1, unavailableRetryMs: 200, maxBackpressureMs: 300_000 });
    await sink.open({ logger, deadLetter: (record, reason) => dead.push({ record, reason }) });
    // writeThroughOutages closes the sink.
    const run = await writeThroughOutages(sink, 300, (i) => rec(row(`u${i % 50}`, { age: i }), T0 + i), [
      { at: 100, flushFirst: true, forMs: 10_000, down: async () => { await neo().stop(); return () => neo().start(); } },
    ]);
    expect(run.blocked).toBeGreaterThan(0);
    expect(run.writtenAround[0]![1]).toBe(run.writtenAround[0]![0]);
    expect(sink.stats).toMatchObject({ written: 300, failures: 0 });
    expect(sink.stats.retries).toBeGreaterThan(0);
    expect(dead).toEqual([]);
    const ages = await neo().query('MATCH (v:User) RETURN v.id AS id, v.age AS age ORDER BY v.age');
    expect(ages).toEqual(Array.from({ length: 50 }, (_, j) => ({ id: `u${j}`, age: 250 + j })));
    expect(logs.join('\n')).not.toContain(neo().password);
  }, 420_000);
});
