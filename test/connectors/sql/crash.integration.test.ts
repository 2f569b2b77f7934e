/**
 * `tributary run` writing changelog rows (creates, updates, key moves, deletes, and replays of
 * older changes as a backfill beside live traffic would send them) from a file to the sql sink,
 * kill -9'd twice mid-stream and restarted. The table's final contents must equal a reference
 * computed from the input: per key, the write with the highest version, a delete winning a tie.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlSinkConfig } from '../../../src/connectors/sql/spec.js';
import { spawnCli } from '../../helpers/cli.js';
import { createTable, dialects, rowColumns, sinkConfig, tableRows, useStore } from './stores.js';

const SEED = Number(process.env.TEST_SEED ?? Date.now() % 100_000);
const RECORDS = 60_000;
const KEYS = 2_000;
const KILLS = 2;

type Image = { id: number; user_id: string; amount: string; status: string; ver: number };
type Change = { op: 'c' | 'u' | 'd' | 'r'; before: Image | null; after: Image | null; source: { seq: number } };

function makeInput(seed: number): Change[] {
  let x = seed || 1;
  const rand = (n: number): number => ((x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0) % n);
  const alive = new Map<number, Image>();
  const out: Change[] = [];
  let nextId = KEYS;
  for (let seq = 1; out.length < RECORDS; seq++) {
    if (out.length > 100 && rand(100) < 5) {
      out.push(out[rand(out.length)]!); // a replay of an older change
      continue;
    }
    const id = rand(KEYS);
    const cur = alive.get(id);
    const image = (key: number): Image => ({ id: key, user_id: `u${key % 97}`, amount: `${rand(100_000)}.${String(rand(100)).padStart(2, '0')}`, status: ['new', 'ok', 'no'][rand(3)]!, ver: seq });
    const roll = rand(100);
    if (!cur) {
      const after = image(id);
      alive.set(id, after);
      out.push({ op: roll < 10 ? 'r' : 'c', before: null, after, source: { seq } });
    } else if (roll < 15) {
      alive.delete(id);
      out.push({ op: 'd', before: cur, after: null, source: { seq } });
    } else if (roll < 20) {
      const after = image(nextId++);
      alive.delete(id);
      out.push({ op: 'u', before: cur, after, source: { seq } });
    } else {
      const after = image(id);
      alive.set(id, after);
      out.push({ op: 'u', before: cur, after, source: { seq } });
    }
  }
  return out;
}

/** Per key: highest version wins, a delete wins a tie, the last of equal upserts wins. */
function reference(input: Change[]): Map<string, { version: number; deleted: boolean; row?: Image }> {
  const ref = new Map<string, { version: number; deleted: boolean; row?: Image }>();
  const put = (id: number, version: number, row: Image | undefined): void => {
    const cur = ref.get(String(id));
    const deleted = row === undefined;
    if (!cur || version > cur.version || (version === cur.version && (deleted || !cur.deleted))) ref.set(String(id), { version, deleted, ...(row ? { row } : {}) });
  };
  for (const c of input) {
    if (c.op === 'd') put(c.before!.id, c.before!.ver, undefined);
    else {
      if (c.op === 'u' && c.before!.id !== c.after!.id) put(c.before!.id, c.after!.ver, undefined);
      put(c.after!.id, c.after!.ver, c.after!);
    }
  }
  return ref;
}

function topology(input: string, config: SqlSinkConfig): string {
  const columns = Object.entries(config.columns).map(([name, c]) => `          ${name}: ${JSON.stringify(c)}`).join('\n');
  return `apiVersion: tributary/v1
kind: Topology
metadata: { name: sql-crash }
spec:
  checkpoint: { interval: 300ms }
  sources:
    changes:
      file: { path: ${JSON.stringify(input)} }
  pipeline:
    - id: rows
      from: changes
      filter: "op != null"
  sinks:
    table:
      from: rows
      sql:
        url: \${SQL_URL}
        table: ${config.table}
        key: [id]
        columns:
${columns}
        version: ver
        changelog: true
        batchSize: 50
    dead: { from: dlq, file: { path: out/dlq.jsonl } }
`;
}

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'tributary-sql-crash-')); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

describe.each(dialects)(`sql sink under kill -9 of the worker, $name (seed ${SEED})`, (d) => {
  const store = useStore(d);

  it(`the table equals the reference after ${KILLS} SIGKILLs mid-stream`, async () => {
    const input = makeInput(SEED);
    const work = join(dir, d.name);
    await mkdir(work, { recursive: true });
    const inputFile = join(work, 'changes.jsonl');
    await writeFile(inputFile, `${input.map((c) => JSON.stringify(c)).join('\n')}\n`);
    const config = sinkConfig(store(), { table: 'crash_t', columns: rowColumns, changelog: true, version: 'ver' });
    await createTable(store(), config);
    const topo = join(work, 'topology.yaml');
    await writeFile(topo, topology(inputFile, config));

    let x = SEED;
    const random = (): number => ((x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32);
    let kills = 0;
    const versionAtKill: number[] = [];
    // How far the table got: the highest version written (versions are the input's sequence numbers).
    const progress = async (): Promise<number> => Number((await store().query('SELECT COALESCE(MAX(_version), 0) AS n FROM crash_t'))[0]!.n);
    for (let runs = 1; ; runs++) {
      expect(runs, `seed ${SEED}: too many restarts`).toBeLessThan(10);
      const child = spawnCli(['run', topo, '--data-dir', join(work, 'state'), '--quiet'], { cwd: work, env: { ...process.env, SQL_URL: store().url } });
      let stderr = '';
      child.stderr?.on('data', (b: Buffer) => { stderr += b.toString(); });
      const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
      if (kills < KILLS) {
        // Kill once rows are arriving (the run has warmed up), at a random moment after that.
        const started = Date.now();
        let timer: NodeJS.Timeout | undefined;
        const watch = (async () => {
          for (;;) {
            await new Promise((r) => setTimeout(r, 100));
            if ((await progress()) > (kills + 1) * (RECORDS / 5) || Date.now() - started > 30_000) break;
          }
          // Short: a worker writes ~30k rows a second here, and the kill must find the table partly written.
          timer = setTimeout(() => child.kill('SIGKILL'), 50 + Math.floor(random() * 250));
        })();
        const result = await exit;
        clearTimeout(timer);
        await watch;
        if (result.signal === 'SIGKILL') {
          kills++;
          versionAtKill.push(await progress());
          continue;
        }
        expect(result.code, `seed ${SEED}: ${stderr}`).toBe(0);
        break;
      }
      const result = await exit;
      expect(result.code, `seed ${SEED}: ${stderr}`).toBe(0);
      break;
    }
    expect(kills, `seed ${SEED}: the run finished before ${KILLS} kills; make the input longer`).toBe(KILLS);

    const ref = reference(input);
    const got = await tableRows(store(), 'crash_t', ['id', 'user_id', 'amount', 'status', '_version', '_deleted']);
    // Mid-stream: each kill found the table partly written.
    const last = Math.max(...input.map((c) => (c.after ?? c.before)!.ver));
    for (const v of versionAtKill) expect(v, `seed ${SEED}: versions at the kills ${versionAtKill}`).toBeLessThan(last);
    const asText = (id: string, r: { version: number; deleted: boolean; row?: Image }): string =>
      r.deleted ? `${id} deleted v${r.version}` : `${id} ${r.row!.user_id} ${r.row!.amount} ${r.row!.status} v${r.version}`;
    const actual = new Map(got.map((r) => {
      const deleted = r._deleted === 'true' || r._deleted === '1';
      return [r.id!, deleted ? `${r.id} deleted v${r._version}` : `${r.id} ${r.user_id} ${r.amount} ${r.status} v${r._version}`];
    }));
    expect(actual.size, `seed ${SEED}`).toBe(ref.size);
    for (const [id, r] of ref) expect(actual.get(id), `seed ${SEED}`).toBe(asText(id, r));
  }, 300_000);
});
