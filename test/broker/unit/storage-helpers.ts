import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { silentLogger } from '../../../src/core/logger.js';
import { buildBatch, readRecords, type BatchRecord } from '../../../src/broker/protocol/record-batch.js';
import { PartitionLog } from '../../../src/broker/storage/partition-log.js';
import { defaultTopicConfig, type TopicConfig } from '../../../src/broker/storage/topic-config.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'broker-unit-'));
  dirs.push(d);
  return d;
}

export function openLog(dir: string, config: Partial<TopicConfig> = {}): PartitionLog {
  return new PartitionLog(dir, { ...defaultTopicConfig, ...config }, silentLogger);
}

export interface Rec {
  key: string | null;
  value: string | null;
  timestamp?: number;
}

/** A producer-side batch (base offset 0, as a client sends it). */
export function batchOf(records: Rec[], opts: { gzip?: boolean; producerId?: number; epoch?: number; seq?: number } = {}): Buffer {
  const now = Date.now();
  const recs: BatchRecord[] = records.map((r, i) => ({
    attributes: 0,
    offset: i,
    timestamp: r.timestamp ?? now,
    key: r.key === null ? null : Buffer.from(r.key),
    value: r.value === null ? null : Buffer.from(r.value),
    headers: [],
  }));
  return buildBatch(recs, {
    baseOffset: 0,
    attributes: opts.gzip ? 1 : 0,
    producerId: opts.producerId,
    producerEpoch: opts.epoch,
    baseSequence: opts.seq,
  });
}

/** Every record in the log from the start, as [offset, key, value]. */
export function readAll(log: PartitionLog): [number, string | null, string | null][] {
  const out: [number, string | null, string | null][] = [];
  let offset = log.logStartOffset;
  while (offset < log.nextOffset) {
    const chunk = log.read(offset, 1 << 20);
    if (chunk.length === 0) break;
    let at = 0;
    while (at < chunk.length) {
      const size = 12 + chunk.readInt32BE(at + 8);
      const batch = chunk.subarray(at, at + size);
      for (const r of readRecords(batch) ?? []) {
        if (r.offset >= offset) out.push([r.offset, r.key?.toString() ?? null, r.value?.toString() ?? null]);
      }
      offset = Number(batch.readBigInt64BE(0)) + batch.readInt32BE(23) + 1;
      at += size;
    }
  }
  return out;
}
