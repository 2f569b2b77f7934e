/**
 * Avro and Confluent formats configured in topology YAML, run through the TopologyTestDriver:
 * records written with an older writer schema come out in the reader schema (added field with its
 * default, int promoted to long), and undecodable ones reach the dead-letter output.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createFormat } from '../../src/formats/registry.js';
import { frameConfluent } from '../../src/formats/confluent.js';
import { TopologyTestDriver } from '../../src/testing/index.js';

const dir = mkdtempSync(join(tmpdir(), 'trib-format-topology-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.parse('2026-11-01T00:00:00Z');
const v1Fields = [
  { name: 'id', type: 'string' },
  { name: 'amount', type: 'int' },
  { name: 'ts', type: 'long' },
];
const v2Fields = [
  { name: 'id', type: 'string' },
  { name: 'amount', type: 'long' },
  { name: 'ts', type: 'long' },
  { name: 'channel', type: 'string', default: 'app' },
];
const schema = (fields: unknown[]) => ({ type: 'record', name: 'Payment', namespace: 'evo', fields });
writeFileSync(join(dir, 'payment-v1.avsc'), JSON.stringify(schema(v1Fields)));
writeFileSync(join(dir, 'payment-v2.avsc'), JSON.stringify(schema(v2Fields)));
writeFileSync(join(dir, 'ids.json'), JSON.stringify({ 1: schema(v1Fields), 2: schema(v2Fields) }));

const v1 = createFormat({ type: 'avro', schema: join(dir, 'payment-v1.avsc') });
const v2 = createFormat({ type: 'avro', schema: join(dir, 'payment-v2.avsc') });

function topology(format: string): string {
  return `apiVersion: tributary/v1
kind: Topology
metadata: { name: payments }
spec:
  sources:
    payments:
      file: { path: unused.jsonl }
      format: ${format}
      eventTime: { field: ts }
  pipeline:
    - { id: big, from: payments, filter: "amount >= 100" }
  sinks:
    out: { from: big, stdout: {} }
`;
}

let driver: TopologyTestDriver | undefined;
afterEach(async () => {
  await driver?.close();
  driver = undefined;
});

/** The driver on the YAML, as if the topology file sat next to the schemas. */
const open = (format: string) => TopologyTestDriver.fromText(topology(format), { file: join(dir, 'payments.yaml') });

describe('avro source configured in YAML', () => {
  it('reads v1 records with the v2 reader schema: the new field gets its default, int widens to long', async () => {
    driver = await open('{ avro: { schema: payment-v2.avsc, writerSchema: payment-v1.avsc } }');
    const rows = [
      { id: 'p1', amount: 250, ts: T0 },
      { id: 'p2', amount: 20, ts: T0 + 1 },
      { id: 'p3', amount: 2_000_000_000, ts: T0 + 2 },
    ];
    for (const row of rows) driver.pipe('payments', v1.encode(row));
    expect(driver.output('out')).toEqual([
      { id: 'p1', amount: 250, ts: T0, channel: 'app' },
      { id: 'p3', amount: 2_000_000_000, ts: T0 + 2, channel: 'app' },
    ]);
    expect(driver.deadLetters()).toEqual([]);
  });

  it('dead-letters bytes that are not Avro of the writer schema, with the exact bytes, and goes on', async () => {
    driver = await open('{ avro: { schema: payment-v2.avsc, writerSchema: payment-v1.avsc } }');
    const good = v1.encode({ id: 'p1', amount: 500, ts: T0 });
    const truncated = good.subarray(0, good.length - 2);
    driver.pipe('payments', truncated);
    driver.pipe('payments', good);
    expect(driver.output('out')).toEqual([{ id: 'p1', amount: 500, ts: T0, channel: 'app' }]);
    const [dead, ...more] = driver.deadLetters();
    expect(more).toEqual([]);
    expect(dead).toMatchObject({ error_code: 'TRIB_RECORD_INVALID', source: 'payments', partition: 0, offset: 0 });
    expect(String(dead!.reason)).toMatch(/^cannot decode avro: invalid Avro for evo\.Payment \(\d+ bytes\): truncated buffer/);
    expect(Buffer.from(String((dead!.record as Record<string, unknown>).raw_base64), 'base64').equals(Buffer.from(truncated))).toBe(true);
  });

  it('without writerSchema the data must be in the reader schema itself', async () => {
    driver = await open('{ avro: { schema: payment-v2.avsc } }');
    driver.pipe('payments', v2.encode({ id: 'p9', amount: 900, ts: T0, channel: 'web' }));
    expect(driver.output('out')).toEqual([{ id: 'p9', amount: 900, ts: T0, channel: 'web' }]);
  });
});

describe('confluent source with a local id→schema file configured in YAML', () => {
  it('resolves each record by its schema id to the reader schema; an unknown id dead-letters', async () => {
    driver = await open('{ confluent: { schema: payment-v2.avsc, schemas: ids.json } }');
    driver.pipe('payments', frameConfluent(1, v1.encode({ id: 'old', amount: 300, ts: T0 })));
    driver.pipe('payments', frameConfluent(2, v2.encode({ id: 'new', amount: 400, ts: T0 + 1, channel: 'h5' })));
    driver.pipe('payments', frameConfluent(7, v2.encode({ id: 'lost', amount: 500, ts: T0 + 2, channel: 'h5' })));
    expect(driver.output('out')).toEqual([
      { id: 'old', amount: 300, ts: T0, channel: 'app' },
      { id: 'new', amount: 400, ts: T0 + 1, channel: 'h5' },
    ]);
    expect(driver.deadLetters().map((d) => d.reason)).toEqual([`cannot decode confluent-avro: unknown schema id 7 (not in ${join(dir, 'ids.json')})`]);
  });
});
