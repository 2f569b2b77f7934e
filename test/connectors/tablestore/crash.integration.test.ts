/**
 * Two kill -9 of a `tributary run` worker writing to TableStore mid-stream, then (stand-in only)
 * the endpoint down for 10 s under the last run. The wire-level stand-in runs in this test
 * process and keeps its data across the kills; a real instance is used when TABLESTORE_* is set. The final table must equal a reference computed from the input:
 * per user, the application with the latest applied_at (the version), whatever order replays
 * and out-of-order records arrived in.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { readRows, startWorker } from '../../helpers/fleet.js';
import { targetName, useTablestore, type StoredRow } from '../../helpers/tablestore.js';

const SEED = Number(process.env.TEST_SEED ?? Date.now() % 100_000);
const COLUMNS = ['application_id', 'amount', 'term', 'channel', 'applied_at'] as const;

/** One topology, writing either to the table (the run under test) or to a file (the reference input). */
function topology(sink: 'tablestore' | 'file'): string {
  const out = sink === 'tablestore'
    ? `tablestore:
          endpoint: \${TABLESTORE_ENDPOINT}
          instance: \${TABLESTORE_INSTANCE}
          accessKeyId: \${TABLESTORE_ACCESS_KEY_ID}
          accessKeySecret: \${TABLESTORE_ACCESS_KEY_SECRET}
          table: \${TS_TABLE}
          primaryKey: [{ name: user_id }]
          columns: [${COLUMNS.join(', ')}]
          version: applied_at
          batchSize: 100`
    : 'file: { path: out/rows.jsonl }';
  return `apiVersion: tributary/v1
kind: Topology
metadata: { name: tablestore-crash }
spec:
  checkpoint: { interval: 250ms }
  sources:
    applications:
      generator: { preset: loan-applications, rate: ${sink === 'file' ? 0 : 4000}, keys: 400, seed: 11, count: 36000, partitions: 2, outOfOrder: 0.2, duplicates: 0.02, badRecords: 0.005 }
      eventTime: { field: applied_at, maxOutOfOrderness: 1m }
  pipeline:
    - id: valid
      from: applications
      filter: "user_id != null"
  sinks:
    latest:
      from: valid
      ${out}
    dead: { from: dlq, file: { path: out/dlq.jsonl } }
`;
}

/** Per user, the rows with the highest applied_at (ties: any of them may be the stored one). */
function reference(rows: Array<Record<string, unknown>>): Map<string, { version: number; candidates: Set<string> }> {
  const out = new Map<string, { version: number; candidates: Set<string> }>();
  for (const r of rows) {
    const user = String(r.user_id);
    const version = Number(r.applied_at);
    const text = JSON.stringify(COLUMNS.map((c) => String(r[c])));
    const prev = out.get(user);
    if (!prev || version > prev.version) out.set(user, { version, candidates: new Set([text]) });
    else if (version === prev.version) prev.candidates.add(text);
  }
  return out;
}

const stored = (r: StoredRow): string => JSON.stringify(COLUMNS.map((c) => String(r[c])));

describe(`tablestore sink: kill -9 of the worker against the ${targetName} (seed ${SEED})`, () => {
  const target = useTablestore();
  let dir: string;
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'tributary-ts-crash-')); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  it('after two kill -9 mid-stream (and, on the stand-in, a 10 s outage) the table equals the reference computed from the input', async () => {
    let rnd = SEED;
    const random = (): number => ((rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const t = target();
    const table = await t.createTable('crash', [{ name: 'user_id', type: 'STRING' }]);
    const refDir = join(dir, 'reference');
    const runDir = join(dir, 'run');
    await mkdir(refDir, { recursive: true });
    await mkdir(runDir, { recursive: true });
    await writeFile(join(refDir, 'topology.yaml'), topology('file'));
    await writeFile(join(runDir, 'topology.yaml'), topology('tablestore'));

    const ref = await runCli(['run', 'topology.yaml', '--data-dir', 'state', '--quiet'], { cwd: refDir });
    expect(ref.code, ref.stderr).toBe(0);
    const expected = reference(await readRows(join(refDir, 'out', 'rows.jsonl')));
    expect(expected.size).toBeGreaterThan(300);

    const env = { ...t.env(), TS_TABLE: table };
    // BatchWriteRow requests the stand-in answered, or rows in a real table.
    const progress = async (): Promise<number> => t.standin?.requests.BatchWriteRow ?? (await t.readTable(table)).length;
    let kills = 0;
    let outage = false;
    for (let run = 1; ; run++) {
      expect(run, `seed ${SEED}: too many restarts`).toBeLessThan(10);
      const worker = startWorker(['topology.yaml', '--data-dir', 'state', '--quiet'], env, runDir);
      let done = false;
      void worker.exited.then(() => { done = true; });
      // Mid-stream: once the worker has sent a few more batches than before it started.
      const midStream = async (): Promise<void> => {
        const due = (await progress()) + 2 + Math.floor(random() * 5);
        while (!done && (await progress()) < due) await new Promise((r) => setTimeout(r, 50));
      };
      if (kills < 2) {
        await midStream();
        worker.child.kill('SIGKILL');
        const result = await worker.exited;
        if (result.signal === 'SIGKILL') {
          kills++;
          continue;
        }
        expect(result.code, `seed ${SEED}: ${worker.stderr().slice(-3000)}`).toBe(0);
        break;
      }
      if (t.standin) {
        // The last run also lives through the endpoint being down for 10 s: it pauses, then finishes.
        await midStream();
        expect(done, `seed ${SEED}: the last run ended before the outage; make it longer`).toBe(false);
        await t.standin.down(10_000);
        outage = true;
      }
      const result = await worker.exited;
      expect(result.code, `seed ${SEED}: ${worker.stderr().slice(-3000)}`).toBe(0);
      break;
    }
    expect(outage || !t.standin).toBe(true);
    expect(kills, `seed ${SEED}: the run ended before two kills; make it longer`).toBe(2);

    const rows = await t.readTable(table);
    const got = new Map(rows.map((r) => [String(r.user_id), r]));
    expect(got.size, `seed ${SEED}: users in the table`).toBe(expected.size);
    for (const [user, want] of expected) {
      const row = got.get(user);
      expect(row?._v, `seed ${SEED}: version of ${user}`).toBe(BigInt(want.version));
      expect(want.candidates.has(stored(row!)), `seed ${SEED}: ${user} holds ${stored(row!)}, expected one of ${[...want.candidates].join(' | ')}`).toBe(true);
    }
  }, 240_000);
});
