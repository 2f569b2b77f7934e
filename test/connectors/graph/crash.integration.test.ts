/**
 * Kill `tributary run` (graph sink into a real Neo4j) with SIGKILL twice mid-stream, restart it
 * until the bounded input is done, and compare the graph with a reference computed from the
 * input: the same generator rows, written by an uninterrupted run to a file, folded by the
 * version rule (each vertex and edge ends at the largest version any row gave it).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnCli } from '../../helpers/cli.js';
import { diffMaps, readRows, type Row } from '../../helpers/fleet.js';
import { useNeo4j } from '../../helpers/neo4j.js';

const SEED = Number(process.env.TEST_SEED ?? Date.now() % 100_000);

const topology = (sink: string): string => `apiVersion: tributary/v1
kind: Topology
metadata: { name: graph-crash }
spec:
  checkpoint: { interval: 250ms }
  sources:
    applications:
      generator: { preset: loan-applications, rate: 2500, keys: 400, seed: 11, count: 15000, partitions: 3, outOfOrder: 0.1, duplicates: 0.02 }
      eventTime: { field: applied_at, maxOutOfOrderness: 2m }
  pipeline:
    - id: valid
      from: applications
      filter: "user_id != null"
  sinks:
${sink}`;

const graphSink = `    relations:
      from: valid
      graph:
        dialect: cypher
        url: \${NEO4J_URL}
        password: \${NEO4J_PASSWORD}
        version: applied_at
        batchSize: 200
        vertices:
          user: { label: User, id: "{user_id}", props: [phone, id_card] }
          device: { label: Device, id: "{device_id}" }
          phone: { label: Phone, id: "{phone}" }
          contact: { label: Phone, id: "{contact_phones}", forEach: contact_phones }
        edges:
          uses_device: { type: USES_DEVICE, from: user, to: device }
          has_phone: { type: HAS_PHONE, from: user, to: phone }
          lists_contact: { type: LISTS_CONTACT, from: user, to: contact }
`;

const fileSink = `    rows: { from: valid, file: { path: out/rows.jsonl } }
`;

/** The graph the rows must leave: element -> its version (and the user's properties). */
function reference(rows: Row[]): Map<string, string> {
  const out = new Map<string, { v: number; props: string }>();
  const put = (id: string, v: number, props = ''): void => {
    const prev = out.get(id);
    if (!prev || v >= prev.v) out.set(id, { v, props });
  };
  for (const r of rows) {
    const v = Number(r.applied_at);
    const user = String(r.user_id);
    put(`User:${user}`, v, JSON.stringify([r.phone, r.id_card]));
    put(`Device:${String(r.device_id)}`, v);
    put(`Phone:${String(r.phone)}`, v);
    put(`USES_DEVICE:${user}->${String(r.device_id)}`, v);
    put(`HAS_PHONE:${user}->${String(r.phone)}`, v);
    for (const c of (r.contact_phones as string[] | null) ?? []) {
      put(`Phone:${c}`, v);
      put(`LISTS_CONTACT:${user}->${c}`, v);
    }
  }
  return new Map([...out].map(([id, { v, props }]) => [id, `${v} ${props}`]));
}

describe(`graph sink: kill -9 of the worker twice mid-stream (seed ${SEED})`, () => {
  const neo = useNeo4j();
  let dir: string;
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'tributary-graph-crash-')); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  it('the graph equals the reference computed from the input', async () => {
    let rnd = SEED;
    const random = (): number => ((rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const refDir = join(dir, 'reference');
    const crashDir = join(dir, 'crash');
    await mkdir(refDir, { recursive: true });
    await mkdir(crashDir, { recursive: true });
    await writeFile(join(refDir, 'topology.yaml'), topology(fileSink));
    await writeFile(join(crashDir, 'topology.yaml'), topology(graphSink));

    const ref = await runCli(['run', join(refDir, 'topology.yaml'), '--data-dir', join(refDir, 'state'), '--quiet'], { cwd: refDir });
    expect(ref.code, ref.stderr).toBe(0);
    const expected = reference(await readRows(join(refDir, 'out', 'rows.jsonl')));
    expect(expected.size).toBeGreaterThan(1000);

    const env = { ...process.env, NEO4J_URL: neo().url, NEO4J_PASSWORD: neo().password };
    let kills = 0;
    for (let runs = 1; ; runs++) {
      expect(runs, `seed ${SEED}: too many restarts`).toBeLessThan(10);
      const child = spawnCli(['run', join(crashDir, 'topology.yaml'), '--data-dir', join(crashDir, 'state'), '--quiet'], { cwd: crashDir, env });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      let out = '';
      child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
      let timer: NodeJS.Timeout | undefined;
      if (kills < 2) {
        // Kill once the sink has written something (the JVM-backed server makes start-up slow and uneven).
        const firstWrite = async (): Promise<void> => {
          const before = Number((await neo().query('MATCH (n) RETURN count(n) AS n'))[0]!.n);
          for (;;) {
            await new Promise((r) => setTimeout(r, 200));
            const now = Number((await neo().query('MATCH (n) RETURN count(n) AS n'))[0]!.n);
            if (now > before) return;
          }
        };
        void Promise.race([firstWrite(), exited]).then(() => {
          timer = setTimeout(() => child.kill('SIGKILL'), 300 + Math.floor(random() * 1200));
        });
      }
      const result = await exited;
      clearTimeout(timer);
      if (result.signal === 'SIGKILL') {
        kills++;
        continue;
      }
      expect(result.code, `seed ${SEED}: ${stderr}\n${out}`).toBe(0);
      break;
    }
    expect(kills, `seed ${SEED}: the run finished before 2 kills; make it longer`).toBe(2);

    const nodes = await neo().query('MATCH (v) RETURN labels(v)[0] AS label, v.id AS id, v._version AS v, v.phone AS phone, v.id_card AS card');
    const rels = await neo().query('MATCH (a)-[e]->(b) RETURN type(e) AS type, a.id AS from, b.id AS to, e._version AS v');
    const got = new Map<string, string>();
    for (const n of nodes) got.set(`${String(n.label)}:${String(n.id)}`, `${String(n.v)} ${n.label === 'User' ? JSON.stringify([n.phone, n.card]) : ''}`);
    for (const e of rels) got.set(`${String(e.type)}:${String(e.from)}->${String(e.to)}`, `${String(e.v)} `);
    expect(diffMaps(expected, got, 10), `seed ${SEED}`).toEqual([]);
    expect(got.size).toBe(expected.size);
  }, 600_000);
});
