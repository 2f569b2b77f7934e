/**
 * One partition's log: an ordered list of segments, the last one active. Appends assign
 * offsets (rewriting only the batch's base offset and leader epoch, both outside the
 * CRC), run idempotent-producer checks, and roll segments by size or age.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import type { Logger } from '../../core/logger.js';
import { KafkaError } from '../protocol/error-codes.js';
import { readRecords } from '../protocol/record-batch.js';
import { ProducerStateTable, lastSequence } from './producer-state.js';
import { Segment } from './segment.js';
import type { TopicConfig } from './topic-config.js';

export type AppendResult = { error: number; baseOffset: number; logAppendTime: number };

export class PartitionLog {
  segments: Segment[] = [];
  readonly producers = new ProducerStateTable();

  constructor(
    readonly dir: string,
    public config: TopicConfig,
    private readonly logger: Logger,
  ) {
    mkdirSync(dir, { recursive: true });
    const bases = readdirSync(dir)
      .filter((f) => /^\d{20}\.log$/.test(f))
      .map((f) => Number(f.slice(0, 20)))
      .sort((a, b) => a - b);
    bases.forEach((base, i) => {
      const active = i === bases.length - 1;
      const { segment, scan } = Segment.open(dir, base, active, (b) =>
        this.producers.record(b.producerId, b.producerEpoch, b.baseSequence, lastSequence(b.baseSequence, b.lastOffset - b.baseOffset), b.baseOffset),
      );
      if (scan.validBytes < scan.fileBytes) {
        this.logger.warn('truncated torn segment tail', {
          dir,
          segment: base,
          validBytes: scan.validBytes,
          droppedBytes: scan.fileBytes - scan.validBytes,
          reason: scan.reason,
        });
      }
      this.segments.push(segment);
    });
    if (this.segments.length === 0) this.segments.push(Segment.create(dir, 0));
  }

  get active(): Segment {
    return this.segments[this.segments.length - 1];
  }
  get logStartOffset(): number {
    return this.segments[0].baseOffset;
  }
  get nextOffset(): number {
    return this.active.nextOffset;
  }
  get sizeBytes(): number {
    return this.segments.reduce((n, s) => n + s.size, 0);
  }

  /** Append one CRC-checked batch (the buffer is modified in place). */
  append(batch: Buffer): AppendResult {
    const now = Date.now();
    if (batch.length > this.config['max.message.bytes']) {
      return { error: KafkaError.MESSAGE_TOO_LARGE, baseOffset: -1, logAppendTime: -1 };
    }
    const producerId = Number(batch.readBigInt64BE(43));
    const epoch = batch.readInt16BE(51);
    const firstSeq = batch.readInt32BE(53);
    const lastSeq = lastSequence(firstSeq, batch.readInt32BE(23));
    const check = this.producers.check(producerId, epoch, firstSeq, lastSeq);
    if (check.kind === 'duplicate') return { error: KafkaError.NONE, baseOffset: check.baseOffset, logAppendTime: -1 };
    if (check.kind === 'error') return { error: check.code, baseOffset: -1, logAppendTime: -1 };
    this.maybeRoll(batch.length, now);
    const baseOffset = this.nextOffset;
    batch.writeBigInt64BE(BigInt(baseOffset), 0);
    batch.writeInt32BE(0, 12);
    this.active.append(batch);
    this.producers.record(producerId, epoch, firstSeq, lastSeq, baseOffset);
    return { error: KafkaError.NONE, baseOffset, logAppendTime: -1 };
  }

  private maybeRoll(incoming: number, now: number): void {
    const a = this.active;
    if (a.size === 0) return;
    if (a.size + incoming > this.config['segment.bytes'] || now - a.createdAt > this.config['segment.ms']) this.roll();
  }

  /** Close the active segment and start a new one (no-op when it is empty). */
  roll(): void {
    if (this.active.size === 0) return;
    this.active.flush();
    this.segments.push(Segment.create(this.dir, this.nextOffset));
  }

  /** Batches from the one containing `offset`, up to maxBytes (at least one whole batch). */
  read(offset: number, maxBytes: number): Buffer {
    for (let i = this.segmentIndexFor(offset); i < this.segments.length; i++) {
      const seg = this.segments[i];
      const pos = seg.positionOf(offset);
      if (pos < seg.size) return seg.read(pos, maxBytes);
    }
    return Buffer.alloc(0);
  }

  private segmentIndexFor(offset: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.segments[mid].baseOffset <= offset) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /**
   * First offset whose timestamp >= ts: the batch is found by its max timestamp, then its
   * records are read to pick the exact record when the codec allows (else the batch base).
   */
  offsetForTimestamp(ts: number): { offset: number; timestamp: number } | null {
    for (const seg of this.segments) {
      const hit = seg.positionOfTimestamp(ts);
      if (!hit) continue;
      const batch = seg.read(hit.position, 1);
      const records = safeRecords(batch);
      const rec = records?.find((r) => r.timestamp >= ts);
      if (rec) return { offset: rec.offset, timestamp: rec.timestamp };
      return { offset: hit.baseOffset, timestamp: Number(batch.readBigInt64BE(35)) };
    }
    return null;
  }

  /** Delete whole old segments past retention.ms / retention.bytes; never the active one. */
  applyRetention(now: number): number {
    let removed = 0;
    const { 'retention.ms': ms, 'retention.bytes': bytes } = this.config;
    let total = this.sizeBytes;
    while (this.segments.length > 1) {
      const oldest = this.segments[0];
      // Kafka ages a segment by its largest record timestamp; file time covers empty or odd ones.
      const age = now - (oldest.maxTimestamp > 0 ? oldest.maxTimestamp : oldest.lastModified);
      const expired = ms >= 0 && age > ms;
      const tooBig = bytes >= 0 && total - oldest.size >= bytes;
      if (!expired && !tooBig) break;
      total -= oldest.size;
      oldest.delete();
      this.segments.shift();
      removed++;
    }
    return removed;
  }

  flush(): void {
    this.active.flush();
  }

  flushAsync(): Promise<void> {
    return this.active.flushAsync();
  }

  close(): void {
    for (const s of this.segments) s.close();
  }

  deleteFiles(): void {
    for (const s of this.segments) s.delete();
    this.segments = [];
  }
}

function safeRecords(batch: Buffer): ReturnType<typeof readRecords> {
  try {
    return readRecords(batch);
  } catch {
    return null;
  }
}
