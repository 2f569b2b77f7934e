import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KafkaError } from '../../../src/broker/protocol/error-codes.js';
import { batchOf, openLog, readAll, tempDir } from './storage-helpers.js';

describe('partition log', () => {
  it('finds the first record at or after a timestamp inside a batch', () => {
    const log = openLog(tempDir());
    log.append(batchOf([{ key: 'a', value: '1', timestamp: 1000 }, { key: 'b', value: '2', timestamp: 2000 }, { key: 'c', value: '3', timestamp: 3000 }]));
    log.append(batchOf([{ key: 'd', value: '4', timestamp: 4000 }], { gzip: true }));
    expect(log.offsetForTimestamp(1500)).toEqual({ offset: 1, timestamp: 2000 });
    expect(log.offsetForTimestamp(3500)).toEqual({ offset: 3, timestamp: 4000 });
    expect(log.offsetForTimestamp(0)).toEqual({ offset: 0, timestamp: 1000 });
  });

  it('serves at least one whole batch even when it is larger than max bytes', () => {
    const log = openLog(tempDir());
    const big = batchOf([{ key: 'k', value: 'v'.repeat(5000) }]);
    log.append(big);
    log.append(batchOf([{ key: 'k2', value: 'small' }]));
    expect(log.read(0, 10).length).toBe(big.length);
    expect(log.read(0, big.length + 10).length).toBe(big.length);
  });

  it('acknowledges a retried idempotent batch with its original offset and refuses a sequence gap', () => {
    const log = openLog(tempDir());
    const first = batchOf([{ key: 'a', value: '1' }, { key: 'a', value: '2' }], { producerId: 7, epoch: 0, seq: 0 });
    expect(log.append(Buffer.from(first))).toMatchObject({ error: 0, baseOffset: 0 });
    expect(log.append(batchOf([{ key: 'b', value: '3' }], { producerId: 7, epoch: 0, seq: 2 }))).toMatchObject({ error: 0, baseOffset: 2 });
    expect(log.append(Buffer.from(first))).toMatchObject({ error: 0, baseOffset: 0 });
    expect(log.append(batchOf([{ key: 'c', value: 'gap' }], { producerId: 7, epoch: 0, seq: 9 })).error).toBe(KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(log.append(batchOf([{ key: 'c', value: '4' }], { producerId: 7, epoch: 0, seq: 3 })).error).toBe(0);
    // A new epoch restarts sequences at 0; the old epoch is fenced from then on.
    expect(log.append(batchOf([{ key: 'd', value: '5' }], { producerId: 7, epoch: 1, seq: 0 })).error).toBe(0);
    expect(log.append(batchOf([{ key: 'e', value: 'stale' }], { producerId: 7, epoch: 0, seq: 4 })).error).toBe(KafkaError.INVALID_PRODUCER_EPOCH);
    expect(readAll(log).map(([o, , v]) => [o, v])).toEqual([[0, '1'], [1, '2'], [2, '3'], [3, '4'], [4, '5']]);
  });

  it('remembers producer sequences across a restart, so a retry after it is still deduplicated', () => {
    const dir = tempDir();
    const log = openLog(dir);
    const b = batchOf([{ key: 'a', value: '1' }], { producerId: 9, epoch: 2, seq: 0 });
    log.append(Buffer.from(b));
    log.close();
    const again = openLog(dir);
    expect(again.append(Buffer.from(b))).toMatchObject({ error: 0, baseOffset: 0 });
    expect(again.nextOffset).toBe(1);
  });

  it('rolls segments by size and deletes old ones by retention.bytes and retention.ms, never the active one', () => {
    const dir = tempDir();
    const log = openLog(dir, { 'segment.bytes': 2048, 'retention.bytes': 4096 });
    for (let i = 0; i < 40; i++) log.append(batchOf([{ key: `k${i}`, value: 'x'.repeat(200) }]));
    const before = log.segments.length;
    expect(before).toBeGreaterThan(4);
    log.applyRetention(Date.now());
    expect(log.sizeBytes).toBeLessThanOrEqual(4096 + 2048);
    expect(log.logStartOffset).toBeGreaterThan(0);
    expect(log.nextOffset).toBe(40);
    expect(readAll(log).at(-1)?.[0]).toBe(39);

    // Records stamped an hour ago: every closed segment is past retention.
    const old = openLog(tempDir(), { 'segment.bytes': 1024, 'retention.ms': 60_000 });
    for (let i = 0; i < 20; i++) old.append(batchOf([{ key: 'k', value: 'y'.repeat(200), timestamp: Date.now() - 3_600_000 }]));
    const segments = old.segments.length;
    expect(old.applyRetention(Date.now())).toBe(segments - 1);
    expect(old.segments).toHaveLength(1);
    expect(old.nextOffset).toBe(20);
    expect(readdirSync(old.dir).filter((f) => f.endsWith('.log'))).toHaveLength(1);
  });

  it('finds the batch holding any offset, at the log end and across index entries, before and after a reopen', () => {
    const dir = tempDir();
    const log = openLog(dir, { 'segment.bytes': 64 * 1024 });
    // Batches of 1-6 records and 10-900 bytes each: many per index entry (every 4 KB), and some
    // index entries a single large batch; several segments.
    const lasts: number[] = [];
    let seed = 7;
    const rand = (n: number): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % n);
    for (let b = 0; b < 600; b++) {
      const n = 1 + rand(6);
      log.append(batchOf(Array.from({ length: n }, (_, i) => ({ key: `k${b}.${i}`, value: 'v'.repeat(10 + rand(b % 50 === 0 ? 6000 : 150)) }))));
      lasts.push(log.nextOffset - 1);
      // A consumer at the end: the batch just written, then nothing.
      expect(log.read(log.nextOffset - 1, 1).readBigInt64BE(0)).toBe(BigInt(lasts.length > 1 ? lasts.at(-2)! + 1 : 0));
      expect(log.read(log.nextOffset, 1).length).toBe(0);
    }
    expect(log.segments.length).toBeGreaterThan(2);
    const check = (l: typeof log): void => {
      let batch = 0;
      for (let offset = 0; offset < l.nextOffset; offset++) {
        while (lasts[batch]! < offset) batch++;
        const first = batch === 0 ? 0 : lasts[batch - 1]! + 1;
        expect(Number(l.read(offset, 1).readBigInt64BE(0)), `offset ${offset}`).toBe(first);
      }
    };
    check(log);
    log.close();
    check(openLog(dir, { 'segment.bytes': 64 * 1024 }));
  });
});
