import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/core/logger.js';
import { crc32c } from '../../../src/kafka-wire/crc32c.js';
import { compactPartition } from '../../../src/broker/storage/cleaner.js';
import { batchOf, openLog, readAll, tempDir } from './storage-helpers.js';

describe('log compaction', () => {
  it('keeps the latest value per key in closed segments, keeps offsets, and leaves the active segment alone', () => {
    const dir = tempDir();
    const log = openLog(dir, { 'cleanup.policy': 'compact' });
    log.append(batchOf([{ key: 'a', value: 'a1' }, { key: 'b', value: 'b1' }, { key: 'a', value: 'a2' }]));
    log.append(batchOf([{ key: 'c', value: 'c1' }, { key: 'b', value: 'b2' }], { gzip: true }));
    log.roll();
    log.append(batchOf([{ key: 'c', value: 'c2' }, { key: 'c', value: 'c3' }]));
    const stats = compactPartition(log, Date.now(), silentLogger);
    expect(stats.recordsRemoved).toBe(3); // a1, b1 and c1
    expect(readAll(log)).toEqual([
      [2, 'a', 'a2'],
      [4, 'b', 'b2'],
      [5, 'c', 'c2'],
      [6, 'c', 'c3'],
    ]);
    expect(log.nextOffset).toBe(7);
    // The cleaned segment survives a reopen and appends continue after the old end.
    log.close();
    const reopened = openLog(dir, { 'cleanup.policy': 'compact' });
    expect(readAll(reopened).map(([o]) => o)).toEqual([2, 4, 5, 6]);
    expect(reopened.append(batchOf([{ key: 'd', value: 'd1' }])).baseOffset).toBe(7);
  });

  it('keeps a tombstone until delete.retention.ms has passed, then drops the key entirely', () => {
    const now = Date.now();
    const log = openLog(tempDir(), { 'cleanup.policy': 'compact', 'delete.retention.ms': 60_000 });
    log.append(batchOf([{ key: 'gone', value: 'v1', timestamp: now - 120_000 }, { key: 'kept', value: 'k1', timestamp: now - 120_000 }]));
    log.append(batchOf([{ key: 'gone', value: null, timestamp: now - 30_000 }]));
    log.roll();
    compactPartition(log, now, silentLogger);
    expect(readAll(log)).toEqual([[1, 'kept', 'k1'], [2, 'gone', null]]);
    compactPartition(log, now + 60_000, silentLogger);
    expect(readAll(log)).toEqual([[1, 'kept', 'k1']]);
  });

  it('leaves batches it cannot decode (snappy/lz4/zstd) untouched', () => {
    const log = openLog(tempDir(), { 'cleanup.policy': 'compact' });
    const b = batchOf([{ key: 'a', value: 'v' }]);
    // Mark as snappy without re-encoding (CRC refreshed): the cleaner must not try to read it.
    b.writeInt16BE(2, 21);
    b.writeUInt32BE(crc32c(b, 21), 17);
    log.append(b);
    log.append(batchOf([{ key: 'a', value: 'newer' }]));
    log.roll();
    const stats = compactPartition(log, Date.now(), silentLogger);
    expect(stats.unreadableBatches).toBe(1);
    expect(log.read(0, 1 << 20).subarray(0, b.length).equals(b)).toBe(true);
  });
});
