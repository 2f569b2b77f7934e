/**
 * Log compaction (cleanup.policy=compact): keep the latest record per key. Closed
 * segments are rewritten batch by batch; a batch keeps its base offset and offset span
 * (so offsets never move, only gaps appear), and unchanged batches are kept byte for
 * byte. Tombstones (null value) survive until older than delete.retention.ms. Batches
 * whose codec we cannot read (snappy, lz4, zstd) are kept as they are and only logged:
 * a record is removed only when a newer record with the same key is known.
 */
import type { Logger } from '../../core/logger.js';
import { BATCH_HEADER_SIZE, LOG_OVERHEAD, buildBatch, readBatchHeader, readRecords, type BatchRecord } from '../protocol/record-batch.js';
import type { PartitionLog } from './partition-log.js';
import type { Segment } from './segment.js';

export interface CleanStats {
  segments: number;
  recordsRemoved: number;
  unreadableBatches: number;
}

const CONTROL_BIT = 0x20;

function* batchesOf(data: Buffer): Generator<Buffer> {
  for (let at = 0; at + BATCH_HEADER_SIZE <= data.length; ) {
    const size = LOG_OVERHEAD + data.readInt32BE(at + 8);
    yield data.subarray(at, at + size);
    at += size;
  }
}

function keyOf(r: BatchRecord): string | null {
  return r.key === null ? null : r.key.toString('latin1');
}

export function compactPartition(log: PartitionLog, now: number, logger: Logger): CleanStats {
  const stats: CleanStats = { segments: 0, recordsRemoved: 0, unreadableBatches: 0 };
  const closed = log.segments.slice(0, -1);
  if (closed.length === 0) return stats;
  const lagMs = log.config['min.compaction.lag.ms'];
  const tombstoneMs = log.config['delete.retention.ms'];

  // Pass 1: the latest offset of every key, over the whole log (the active segment's
  // newer values also make closed-segment values obsolete).
  const latest = new Map<string, number>();
  const decoded = new Map<Segment, Buffer>();
  for (const seg of log.segments) {
    const data = seg.readAll();
    decoded.set(seg, data);
    for (const batch of batchesOf(data)) {
      if (readBatchHeader(batch).attributes & CONTROL_BIT) continue;
      const records = readRecords(batch);
      if (!records) {
        stats.unreadableBatches++;
        continue;
      }
      for (const r of records) {
        const k = keyOf(r);
        if (k !== null) latest.set(k, r.offset);
      }
    }
  }

  // Pass 2: rewrite closed segments.
  for (let i = 0; i < closed.length; i++) {
    const seg = closed[i];
    const data = decoded.get(seg)!;
    const out: Buffer[] = [];
    let changed = false;
    for (const batch of batchesOf(data)) {
      const h = readBatchHeader(batch);
      const records = h.attributes & CONTROL_BIT ? null : readRecords(batch);
      if (!records) {
        out.push(batch);
        continue;
      }
      const kept = records.filter((r) => {
        const k = keyOf(r);
        if (k === null) return true;
        if (now - r.timestamp < lagMs) return true;
        if (latest.get(k) !== r.offset) return false;
        return !(r.value === null && now - r.timestamp > tombstoneMs);
      });
      if (kept.length === records.length) {
        out.push(batch);
        continue;
      }
      changed = true;
      stats.recordsRemoved += records.length - kept.length;
      if (kept.length === 0) continue;
      out.push(
        buildBatch(kept, {
          baseOffset: h.baseOffset,
          lastOffsetDelta: h.lastOffsetDelta,
          attributes: h.attributes,
          producerId: h.producerId,
          producerEpoch: h.producerEpoch,
          baseSequence: h.baseSequence,
        }),
      );
    }
    if (!changed) continue;
    log.segments[i] = seg.replaceWith(Buffer.concat(out));
    stats.segments++;
  }
  // Drop closed segments left empty (but keep the first, which anchors the log start).
  log.segments = log.segments.filter((s, i) => {
    if (i === 0 || i === log.segments.length - 1 || s.size > 0) return true;
    s.delete();
    return false;
  });
  if (stats.unreadableBatches) {
    logger.info('compaction kept batches with a codec it cannot read (snappy/lz4/zstd) as they are', { batches: stats.unreadableBatches });
  }
  return stats;
}
