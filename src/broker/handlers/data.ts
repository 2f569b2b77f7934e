/** Produce, Fetch and ListOffsets: the log's read and write paths. */
import type { FetchRequest, FetchResponse } from '../apis/fetch.js';
import type { ListOffsetsRequest, ListOffsetsResponse } from '../apis/list-offsets.js';
import type { ProducePartitionResponse, ProduceRequest, ProduceResponse } from '../apis/produce.js';
import { KafkaError } from '../protocol/error-codes.js';
import { splitBatches } from '../protocol/record-batch.js';
import type { PartitionLog } from '../storage/partition-log.js';
import type { BrokerContext } from './context.js';

export async function handleProduce(ctx: BrokerContext, req: ProduceRequest): Promise<ProduceResponse | null> {
  const touched: PartitionLog[] = [];
  const badAcks = req.acks !== 0 && req.acks !== 1 && req.acks !== -1;
  const res: ProduceResponse = {
    topics: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p): ProducePartitionResponse => {
        const out: ProducePartitionResponse = { index: p.index, errorCode: 0, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, errorMessage: null };
        if (badAcks) return { ...out, errorCode: KafkaError.INVALID_REQUIRED_ACKS };
        const log = ctx.store.partition(t.name, p.index);
        if (!log) return { ...out, errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION };
        out.logStartOffset = log.logStartOffset;
        if (!p.records || p.records.length === 0) return out;
        const split = splitBatches(p.records);
        if (!split.ok) {
          ctx.logger.warn('rejected produce batch', { topic: t.name, partition: p.index, reason: split.reason });
          return { ...out, errorCode: KafkaError.CORRUPT_MESSAGE, errorMessage: split.reason };
        }
        for (const batch of split.batches) {
          const r = log.append(batch);
          if (r.error !== KafkaError.NONE) return { ...out, errorCode: r.error, baseOffset: -1 };
          if (out.baseOffset < 0) out.baseOffset = r.baseOffset;
        }
        touched.push(log);
        ctx.notifyAppend(t.name, p.index);
        return out;
      }),
    })),
  };
  if (ctx.fsync === 'always') await Promise.all(touched.map((log) => log.flushAsync()));
  return req.acks === 0 ? null : res;
}

function collectFetch(ctx: BrokerContext, req: FetchRequest): { res: FetchResponse; bytes: number; errors: boolean } {
  let budget = req.maxBytes > 0 ? req.maxBytes : Number.MAX_SAFE_INTEGER;
  let bytes = 0;
  let errors = false;
  const res: FetchResponse = {
    errorCode: 0,
    topics: req.topics.map((t) => ({
      topic: t.topic,
      partitions: t.partitions.map((p) => {
        const log = ctx.store.partition(t.topic, p.partition);
        if (!log) {
          errors = true;
          return { partition: p.partition, errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION, highWatermark: -1, logStartOffset: -1, records: Buffer.alloc(0) };
        }
        const base = { partition: p.partition, highWatermark: log.nextOffset, logStartOffset: log.logStartOffset };
        if (p.fetchOffset < log.logStartOffset || p.fetchOffset > log.nextOffset) {
          errors = true;
          return { ...base, errorCode: KafkaError.OFFSET_OUT_OF_RANGE, records: Buffer.alloc(0) };
        }
        let records: Buffer = Buffer.alloc(0);
        if (budget > 0 && p.fetchOffset < log.nextOffset) {
          // The first batch is always whole, even beyond the limits (consumers must progress).
          records = log.read(p.fetchOffset, Math.min(p.partitionMaxBytes, budget));
          budget -= records.length;
          bytes += records.length;
        }
        return { ...base, errorCode: 0, records };
      }),
    })),
  };
  return { res, bytes, errors };
}

export async function handleFetch(ctx: BrokerContext, req: FetchRequest, closed: () => boolean): Promise<FetchResponse> {
  const deadline = Date.now() + Math.max(0, req.maxWaitMs);
  const keys = req.topics.flatMap((t) => t.partitions.map((p) => `${t.topic}\0${p.partition}`));
  for (;;) {
    const { res, bytes, errors } = collectFetch(ctx, req);
    const left = deadline - Date.now();
    if (bytes >= req.minBytes || errors || left <= 0 || closed() || keys.length === 0) return res;
    if (!(await ctx.waitForAppend(keys, left))) return res;
  }
}

export function handleListOffsets(ctx: BrokerContext, req: ListOffsetsRequest): ListOffsetsResponse {
  return {
    topics: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        const log = ctx.store.partition(t.name, p.partitionIndex);
        const out = { partitionIndex: p.partitionIndex, errorCode: 0, timestamp: -1, offset: -1 };
        if (!log) return { ...out, errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION };
        if (p.timestamp === -1) return { ...out, offset: log.nextOffset };
        if (p.timestamp === -2) return { ...out, offset: log.logStartOffset };
        const hit = log.offsetForTimestamp(p.timestamp);
        return hit ? { ...out, offset: hit.offset, timestamp: hit.timestamp } : out;
      }),
    })),
  };
}
