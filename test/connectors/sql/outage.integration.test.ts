/**
 * The sql sink while its server is away: 10 s down between batches, then killed with a batch in
 * flight. Processing must pause (add() blocks the producer), nothing may be lost or dead-lettered,
 * and the retry budget (maxRetries 2 here) must not run out: an outage is backpressure, not failure.
 */
import { describe, expect, it } from 'vitest';
import { SqlSink } from '../../../src/connectors/sql/sink.js';
import { createLogger } from '../../../src/core/logger.js';
import { writeThroughOutages } from '../../helpers/sink-outage.js';
import { createTable, dialects, sinkConfig, tableRows, useStore } from './stores.js';

const T0 = 1_700_000_000_000;
const OUTAGE_MS = 10_000;

describe.each(dialects)('sql sink while $name is down', (d) => {
  const store = useStore(d);

  it(`pauses for a ${OUTAGE_MS / 1000} s outage and a kill mid-batch, then writes everything, nothing lost`, async () => {
    const config = sinkConfig(store(), { table: 'outage_t', batchSize: 20, version: 'ver' });
    await createTable(store(), config);
    const logs: string[] = [];
    const logger = createLogger({ level: 'debug', json: true, write: (line) => logs.push(line) });
    const sink = new SqlSink('outage', config, { maxBuffered: 60, maxRetries: 2, unavailableRetryMs: 200 });
    const dead: string[] = [];
    await sink.open({ logger, deadLetter: (_r, reason) => dead.push(reason) });

    const expected = new Map<number, number>();
    const { blocked, writtenAround } = await writeThroughOutages(sink, 600, (i) => {
      const id = i % 40;
      expected.set(id, i);
      return { key: id, value: { id, user_id: `u${id}`, amount: `${i}.25`, status: 'ok', ver: i }, timestamp: T0 + i };
    }, [
      { at: 150, flushFirst: true, down: () => store().down('stop'), forMs: OUTAGE_MS },
      // No flush first: a transaction may be open when the server dies.
      { at: 400, flushFirst: false, down: () => store().down('kill'), forMs: 1_000 },
    ]);

    expect(blocked).toBeGreaterThan(0);
    expect(writtenAround).toHaveLength(1);
    for (const [whenDown, beforeBack] of writtenAround) expect(beforeBack).toBe(whenDown);
    expect(sink.stats).toMatchObject({ written: 600, failures: 0 });
    expect(sink.stats.retries).toBeGreaterThan(0);
    expect(dead).toEqual([]);
    const rows = await tableRows(store(), 'outage_t', ['id', 'amount', '_version']);
    expect(rows.map((r) => [Number(r.id), r.amount, r._version]).sort((a, b) => Number(a[0]) - Number(b[0])))
      .toEqual([...expected].sort((a, b) => a[0] - b[0]).map(([id, i]) => [id, `${i}.25`, String(i)]));
    expect(logs.some((l) => l.includes('waiting for the server'))).toBe(true);
    expect(logs.join('\n')).not.toContain(new URL(store().url).password);
  }, 120_000);
});
