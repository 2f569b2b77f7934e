/**
 * The shipped topologies/loan-detail-rows.yaml as the README runs it: `tributary plan` prints the
 * DDL, the table is created from it, `tributary run` fills it, and a second run (a replay of the
 * same input) leaves the same rows. Its second sink block writes the same rows to TableStore (the
 * wire-level stand-in, or a real instance with TABLESTORE_* set): both stores must agree.
 * Its graph block writes the relations to a real Neo4j.
 */
import { describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, runCli } from '../../helpers/cli.js';
import { useTablestore } from '../../helpers/tablestore.js';
import { useNeo4j } from '../../helpers/neo4j.js';
import { dialects, useStore } from './stores.js';

const COUNT = 3_000;

const neo = useNeo4j();

describe.each(dialects)('topologies/loan-detail-rows.yaml against $name', (d) => {
  const store = useStore(d);
  const tablestore = useTablestore();

  it('plan prints the DDL that creates the table; run fills it; a replay changes nothing', async () => {
    const topo = join(repoRoot, 'topologies', 'loan-detail-rows.yaml');
    const ts = tablestore();
    const tsTable = await ts.createTable('loan_detail', [{ name: 'user_id', type: 'STRING' }, { name: 'application_id', type: 'STRING' }]);
    const env = {
      ...process.env, ...ts.env(), TABLESTORE_TABLE: tsTable, PG_URL: store().url, DETAIL_ROWS_COUNT: String(COUNT), DETAIL_ROWS_RATE: '0',
      NEO4J_URL: neo().url, NEO4J_PASSWORD: neo().password,
    };
    await neo().query('MATCH (n) DETACH DELETE n');
    const plan = await runCli(['plan', topo], { env });
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).not.toContain(new URL(store().url).password);
    const ddl = plan.stdout.slice(plan.stdout.indexOf('CREATE TABLE')).split('\n').map((l) => l.trim()).join('\n');
    await store().query('DROP TABLE IF EXISTS loan_application_detail');
    await store().query(ddl.slice(0, ddl.indexOf(');') + 2));

    const snapshot = async () => store().query('SELECT user_id, application_id, amount_cents, applied_at, _version FROM loan_application_detail ORDER BY user_id, application_id');
    const dir = await mkdtemp(join(tmpdir(), 'tributary-detail-rows-'));
    const snapshots: unknown[] = [];
    try {
      // The second run starts from scratch (its own state dir): a full replay of the same input.
      for (const run of [1, 2]) {
        const result = await runCli(['run', topo, '--data-dir', join(dir, String(run)), '--quiet'], { env });
        expect(result.code, result.stderr).toBe(0);
        snapshots.push(await snapshot());
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(snapshots[1]).toEqual(snapshots[0]);
    const rows = await snapshot();
    // Generator duplicates repeat an application id; bad records go to the dead letters.
    expect(rows.length).toBeGreaterThan(COUNT * 0.95);
    expect(rows.length).toBeLessThanOrEqual(COUNT);
    const [{ n }] = await store().query('SELECT COUNT(DISTINCT user_id) AS n FROM loan_application_detail');
    expect(Number(n)).toBeGreaterThan(100);
    const inSql = (rows as Array<Record<string, unknown>>).map((r) => `${r.user_id}/${r.application_id}/${Number(r.amount_cents)}/${Number(r._version)}`);
    const inTablestore = (await ts.readTable(tsTable)).map((r) => `${r.user_id}/${r.application_id}/${Number(r.amount_cents)}/${Number(r._v)}`);
    expect(inTablestore.sort()).toEqual(inSql.sort());
    // The relations block: every user with its device, phone and id card edges.
    const [graph] = await neo().query(`MATCH (u:User) WITH count(u) AS users
      MATCH (:User)-[d:USES_DEVICE]->(:Device) WITH users, count(d) AS devices
      MATCH (:User)-[c:LISTS_CONTACT]->(:Phone) RETURN users, devices, count(c) AS contacts`);
    // At least the table's users: a row the table refuses (a bad amount) still has its relations.
    expect(Number(graph!.users)).toBeGreaterThanOrEqual(Number(n));
    expect(Number(graph!.devices)).toBeGreaterThanOrEqual(Number(n));
    expect(Number(graph!.contacts)).toBeGreaterThan(0);
  }, 400_000);
});
