import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { compileGraphPlan, rowWrites } from '../../../src/connectors/graph/model.js';
import { batchStatements, ngqlString, NebulaStore } from '../../../src/connectors/graph/nebula.js';
import { decodeMessage, encodeCall, takeFrames, text } from '../../../src/connectors/graph/nebula-wire.js';
import { GraphSink } from '../../../src/connectors/graph/sink.js';
import type { GraphSinkConfig } from '../../../src/connectors/graph/spec.js';
import type { SinkRecord } from '../../../src/connectors/types.js';
import { silentLogger } from '../../../src/core/logger.js';
import { startStandInGraphd, type StandInGraphd } from '../../helpers/nebula-stand-in.js';
import { T0, change, rec, relationsConfig, row } from './fixtures.js';

const nebula = (over: Partial<GraphSinkConfig> = {}): GraphSinkConfig =>
  relationsConfig({ dialect: 'nebula', address: '127.0.0.1:9669', space: 'relations', user: 'root', password: 'pw' }, over);

function statements(config: GraphSinkConfig, records: SinkRecord[]): string[] {
  const plan = compileGraphPlan(config, 'test');
  return batchStatements(records.map((r) => rowWrites(plan, r))).statements;
}

const V = '`_version`';
const D = '`_deleted`';

describe('graph sink nGQL statements (NebulaGraph execution is not verified here)', () => {
  it('a row: one guarded UPSERT per vertex, then per edge, the guard in WHEN after SET', () => {
    expect(statements(nebula(), [rec(row('u1'), T0)])).toEqual([
      `UPSERT VERTEX ON \`User\` "u1" SET \`name\` = "name-u1", \`age\` = 30, ${V} = 1700000000000.0, ${D} = NULL WHEN ${V} IS NULL OR ${V} < 1700000000000.0 OR (${V} == 1700000000000.0 AND ${D} IS NULL)`,
      `UPSERT VERTEX ON \`Device\` "d-u1" SET ${V} = 1700000000000.0, ${D} = NULL WHEN ${V} IS NULL OR ${V} < 1700000000000.0 OR (${V} == 1700000000000.0 AND ${D} IS NULL)`,
      `UPSERT VERTEX ON \`Phone\` "p-u1" SET \`carrier\` = "cm", ${V} = 1700000000000.0, ${D} = NULL WHEN ${V} IS NULL OR ${V} < 1700000000000.0 OR (${V} == 1700000000000.0 AND ${D} IS NULL)`,
      `UPSERT EDGE ON \`USES_DEVICE\` "u1" -> "d-u1"@0 SET \`first_seen\` = 1700000000000, ${V} = 1700000000000.0, ${D} = NULL WHEN ${V} IS NULL OR ${V} < 1700000000000.0 OR (${V} == 1700000000000.0 AND ${D} IS NULL)`,
      `UPSERT EDGE ON \`HAS_PHONE\` "u1" -> "p-u1"@0 SET ${V} = 1700000000000.0, ${D} = NULL WHEN ${V} IS NULL OR ${V} < 1700000000000.0 OR (${V} == 1700000000000.0 AND ${D} IS NULL)`,
    ]);
  });

  it('a retraction writes tombstones (declared properties NULL, _deleted true) guarded by <=; shared vertices are kept', () => {
    const r = row('u1', { ver: 7.5 });
    expect(statements(nebula({ changelog: true, version: 'ver' }), [change('d', r, null, T0)])).toEqual([
      `UPSERT VERTEX ON \`User\` "u1" SET \`name\` = NULL, \`age\` = NULL, ${V} = 7.5, ${D} = true WHEN ${V} IS NULL OR ${V} <= 7.5`,
      `UPSERT EDGE ON \`USES_DEVICE\` "u1" -> "d-u1"@0 SET \`first_seen\` = NULL, ${V} = 7.5, ${D} = true WHEN ${V} IS NULL OR ${V} <= 7.5`,
      `UPSERT EDGE ON \`HAS_PHONE\` "u1" -> "p-u1"@0 SET ${V} = 7.5, ${D} = true WHEN ${V} IS NULL OR ${V} <= 7.5`,
    ]);
  });

  it('escapes quotes, backslashes and line breaks; passes unicode through; refuses other control characters', () => {
    expect(ngqlString('He said "hi" \\ back\\slash\nnext\tline\r')).toBe('"He said \\"hi\\" \\\\ back\\\\slash\\nnext\\tline\\r"');
    expect(ngqlString('张三 — émoji 🚀 \'single\'')).toBe('"张三 — émoji 🚀 \'single\'"');
    expect(() => ngqlString('bell\u0007')).toThrow(/control character U\+0007 cannot be written as an nGQL string/);
    const [user] = statements(nebula(), [rec(row('id "quoted" \\ 号', { name: 'O\'Brien "Bob"' }), T0)]);
    expect(user).toContain('UPSERT VERTEX ON `User` "id \\"quoted\\" \\\\ 号" SET `name` = "O\'Brien \\"Bob\\"", ');
  });

  it('values: integers stay integers, floats and booleans as literals, null as NULL; lists and maps are the row\'s error', () => {
    const [user] = statements(nebula(), [rec(row('u1', { name: null, age: 0.25 }), T0)]);
    expect(user).toContain('SET `name` = NULL, `age` = 0.25, ');
    expect(() => statements(nebula(), [rec(row('u1', { name: ['a'] }), T0)])).toThrow(/property 'name': NebulaGraph properties hold no lists or maps/);
  });

  it('one statement per element per batch: the newest write wins, a tombstone at an equal version stays', () => {
    const out = statements(nebula({ version: 'ver', edges: {} }), [
      rec(row('u1', { name: 'b', ver: 5 }), T0), rec(row('u1', { name: 'a', ver: 4 }), T0),
    ]);
    expect(out.filter((s) => s.includes('`User`'))).toEqual([expect.stringContaining('SET `name` = "b", `age` = 30, `_version` = 5.0')]);
  });
});

describe('graph sink Thrift codec', () => {
  it('a framed execute call decodes back to its session and statement; partial frames wait for the rest', () => {
    const frame = encodeCall('execute', 3, [{ id: 1, type: 'i64', value: 2n ** 40n }, { id: 2, type: 'binary', value: 'USE `g`; 号' }]);
    const half = takeFrames(frame.subarray(0, 10));
    expect(half.frames).toEqual([]);
    const { frames, rest } = takeFrames(Buffer.concat([frame, frame.subarray(0, 3)]));
    expect(rest.length).toBe(3);
    const m = decodeMessage(frames[0]!);
    expect([m.name, m.seqid, m.body.get(1), text(m.body.get(2))]).toEqual(['execute', 3, 2n ** 40n, 'USE `g`; 号']);
  });
});

describe('graph sink (nebula) against a wire-level stand-in graphd (records statements; does not run nGQL)', () => {
  const schema = {
    User: ['name', 'age', '_version', '_deleted'], Device: ['_version', '_deleted'], Phone: ['carrier', '_version', '_deleted'],
    USES_DEVICE: ['first_seen', '_version', '_deleted'], HAS_PHONE: ['_version', '_deleted'],
  };
  let graphd: StandInGraphd;
  const sinks: GraphSink[] = [];
  const dead: Array<{ record: SinkRecord; reason: string }> = [];
  beforeAll(async () => { graphd = await startStandInGraphd('pw', schema); });
  afterAll(async () => { await graphd.close(); });
  afterEach(async () => {
    for (const s of sinks.splice(0)) await s.close();
    dead.length = 0;
    graphd.requests.length = 0;
    graphd.applied.length = 0;
    graphd.refuse = undefined;
  });

  async function open(over: Partial<GraphSinkConfig> = {}): Promise<GraphSink> {
    const sink = new GraphSink('relations', nebula({ address: graphd.address, ...over }), { unavailableRetryMs: 50 });
    await sink.open({ logger: silentLogger, deadLetter: (record, reason) => dead.push({ record, reason }) });
    sinks.push(sink);
    return sink;
  }

  it('checks the schema at open() and writes a batch in one request after USE <space>', async () => {
    const sink = await open();
    expect(graphd.requests).toEqual(Object.keys(schema).map((name) => `USE \`relations\`; DESCRIBE ${/^[A-Z]+_/.test(name) ? 'EDGE' : 'TAG'} \`${name}\``));
    graphd.requests.length = 0;
    for (const u of ['u1', 'u2']) await sink.add(rec(row(u), T0));
    await sink.flush();
    expect(graphd.requests).toHaveLength(1);
    expect(graphd.requests[0]!.split(';\n')).toEqual(['USE `relations`', ...statements(nebula(), [rec(row('u1'), T0), rec(row('u2'), T0)])]);
    expect(sink.stats).toMatchObject({ written: 2, failures: 0 });
  });

  it('a schema without the version properties fails open() naming them; a wrong password fails it too', async () => {
    await expect(open({ vertices: { user: { label: 'Other', id: '{user_id}', onDelete: 'keep' } }, edges: {} }))
      .rejects.toThrow(/TAG `Other`.*not found/);
    await expect(open({ vertices: { user: { label: 'User', id: '{user_id}', props: ['email'], onDelete: 'keep' } }, edges: {} }))
      .rejects.toThrow(/TAG `User` in space relations lacks property email/);
    await expect(open({ password: 'wrong' })).rejects.toThrow(/authentication failed: Invalid password \(nebula error -1001\)/);
  });

  it('rows graphd refuses or nGQL cannot express are dead-lettered with the reason; the rest of the batch is written', async () => {
    const sink = await open();
    graphd.refuse = /"refused-name"/;
    const batch = Array.from({ length: 8 }, (_, i) => rec(row(`u${i}`), T0));
    batch[2] = rec(row('u2', { name: 'refused-name' }), T0);
    batch[6] = rec(row('u6', { carrier: 'tab\u0001' }), T0);
    for (const r of batch) await sink.add(r);
    await sink.flush();
    expect(dead.map((d) => d.record)).toEqual([batch[2], batch[6]]);
    expect(dead[0]!.reason).toMatch(/refused the row: Storage Error: The data type does not meet the requirements.*\(nebula error -1005\)/);
    expect(dead[1]!.reason).toMatch(/refused the row: control character U\+0001 cannot be written as an nGQL string/);
    for (const u of ['u0', 'u1', 'u3', 'u4', 'u5', 'u7']) expect(graphd.applied).toContain(statements(nebula(), [rec(row(u), T0)])[0]);
    expect(sink.stats).toMatchObject({ written: 6, failures: 2 });
  });

  it('graphd down: the batch waits (backpressure) and is written once it is back', async () => {
    const sink = await open();
    await graphd.stop();
    await sink.add(rec(row('u1'), T0));
    const flushed = sink.flush();
    await new Promise((r) => setTimeout(r, 500));
    expect(graphd.applied).toEqual([]);
    await graphd.start();
    await flushed;
    expect(graphd.applied).toContain(statements(nebula(), [rec(row('u1'), T0)])[0]);
    expect(sink.stats.retries).toBeGreaterThan(0);
  });
});

const address = process.env.NEBULA_ADDRESS;
describe.skipIf(!address)(`graph sink (nebula) against a real NebulaGraph at NEBULA_ADDRESS${address ? '' : ' (skipped: NEBULA_ADDRESS is not set; NebulaGraph cannot run on this machine)'}`, () => {
  const space = process.env.NEBULA_SPACE ?? 'tributary_graph_sink_test';
  const user = process.env.NEBULA_USER ?? 'root';
  const password = process.env.NEBULA_PASSWORD ?? 'nebula';
  const admin = new NebulaStore({ address: address ?? '', space, user, password });

  beforeAll(async () => {
    await admin.execute(`CREATE SPACE IF NOT EXISTS \`${space}\` (vid_type = FIXED_STRING(64)); `);
    // A new space is usable after two heartbeats (10 s each by default).
    await new Promise((r) => setTimeout(r, 25_000));
    await admin.execute([
      `USE \`${space}\``,
      'CREATE TAG IF NOT EXISTS `User` (`name` string NULL, `age` double NULL, `_version` double NULL, `_deleted` bool NULL)',
      'CREATE TAG IF NOT EXISTS `Device` (`_version` double NULL, `_deleted` bool NULL)',
      'CREATE TAG IF NOT EXISTS `Phone` (`carrier` string NULL, `_version` double NULL, `_deleted` bool NULL)',
      'CREATE EDGE IF NOT EXISTS `USES_DEVICE` (`first_seen` int64 NULL, `_version` double NULL, `_deleted` bool NULL)',
      'CREATE EDGE IF NOT EXISTS `HAS_PHONE` (`_version` double NULL, `_deleted` bool NULL)',
    ].join('; '));
    await new Promise((r) => setTimeout(r, 25_000));
  }, 120_000);
  afterAll(async () => { await admin.close(); });

  it('upserts, keeps newer values against an older replay, and leaves a tombstone that an older replay does not revive', async () => {
    const sink = new GraphSink('relations', nebula({ address, space, user, password, changelog: true }));
    await sink.open({ logger: silentLogger });
    const r1 = row('n1', { age: 1.5 });
    try {
      for (const r of [change('c', null, r1, T0 + 10), change('c', null, { ...r1, name: 'old' }, T0), change('d', r1, null, T0 + 20), change('c', null, r1, T0 + 15)]) {
        await sink.add(r);
        await sink.flush();
      }
    } finally {
      await sink.close();
    }
    const fetched = await admin.execute(`USE \`${space}\`; FETCH PROP ON \`User\` "n1" YIELD \`User\`.\`name\` AS name, \`User\`.\`_version\` AS v, \`User\`.\`_deleted\` AS d`);
    expect(fetched.rows).toEqual([[null, T0 + 20, true]]);
    const device = await admin.execute(`USE \`${space}\`; FETCH PROP ON \`Device\` "d-n1" YIELD \`Device\`.\`_deleted\` AS d`);
    expect(device.rows).toEqual([[null]]);
  }, 120_000);
});
