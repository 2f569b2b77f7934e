/**
 * RepartitionWriter against a producer whose acknowledgements the test controls: one request in
 * flight at a time (order per partition survives a failed request), requests that grow while one
 * is in flight and stay under the broker's request limit, a linger for small remainders, bounded
 * memory through backpressure, and a failure that stops sending, releases the run loop and
 * fails the checkpoint.
 */
import { describe, expect, it } from 'vitest';
import type { KafkaProducer, ProduceMessage, ProduceOptions, ProducedBatch } from '../../src/kafka/client.js';
import { RepartitionWriter } from '../../src/runtime/repartition.js';
import type { StreamRecord } from '../../src/core/record.js';

interface Request { messages: ProduceMessage[]; ack(): void; fail(err: Error): void }

/** Holds every request until the test acks or fails it. */
class HeldProducer implements KafkaProducer {
  readonly requests: Request[] = [];
  open = 0;
  maxOpen = 0;

  async send(_topic: string, messages: ProduceMessage[], _options: ProduceOptions): Promise<ProducedBatch[]> {
    this.open++;
    this.maxOpen = Math.max(this.maxOpen, this.open);
    return new Promise<ProducedBatch[]>((resolve, reject) => {
      this.requests.push({
        messages,
        ack: () => { this.open--; resolve([]); },
        fail: (err) => { this.open--; reject(err); },
      });
    });
  }

  /** Acks every request as it comes, until `until` says stop; returns how many it acked. */
  async drain(until: () => boolean): Promise<number> {
    let acked = 0;
    for (let spins = 0; !until() && spins < 10_000; spins++) {
      const next = this.requests[acked];
      if (next) {
        next.ack();
        acked++;
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    return acked;
  }

  async close(): Promise<void> {}
}

const record = (offset: number, value: Record<string, string | number> = { n: offset }): StreamRecord => ({
  value,
  key: `k${offset % 7}`,
  timestamp: 1_000 + offset,
  origin: { source: 'in', partition: 0, offset },
});

const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));
const offsetOf = (m: ProduceMessage): number => Number(m.headers!['trib-off']!.toString());

describe('RepartitionWriter', () => {
  it('tags each record with its upstream partition, source offset and sequence within that offset', async () => {
    const producer = new HeldProducer();
    const writer = new RepartitionWriter('s', 'app.s.repartition', producer, 4);
    // Upstream partitions 3 and 2000; offsets producing 3, 1 and 2 records.
    const plan: Array<[number, number]> = [[3, 10], [3, 10], [3, 10], [2000, 10], [3, 11], [2000, 12], [2000, 12], [3, 1500]];
    for (const [from, offset] of plan) writer.add(record(offset), 0, from, 5_000);
    const flushed = writer.flush();
    await producer.drain(() => writer.pending === 0);
    await flushed;
    const text = (m: ProduceMessage, h: string): string => m.headers![h]!.toString();
    const tags = producer.requests.flatMap((r) => r.messages.map((m) => [text(m, 'trib-up'), text(m, 'trib-off'), text(m, 'trib-seq'), text(m, 'trib-rwm')]));
    expect(tags).toEqual([
      ['3', '10', '0', '5000'], ['3', '10', '1', '5000'], ['3', '10', '2', '5000'], ['2000', '10', '0', '5000'],
      ['3', '11', '0', '5000'], ['2000', '12', '0', '5000'], ['2000', '12', '1', '5000'], ['3', '1500', '0', '5000'],
    ]);
  });

  it('keeps one request in flight; what arrives meanwhile goes out together, in order', async () => {
    const producer = new HeldProducer();
    const writer = new RepartitionWriter('s', 'app.s.repartition', producer, 4);
    for (let i = 0; i < 3_000; i++) writer.add(record(i), i % 4, 0, -Infinity);
    expect(producer.requests).toHaveLength(1);
    expect(producer.requests[0]!.messages).toHaveLength(500);
    producer.requests[0]!.ack();
    await tick();
    // The 2,500 that waited go out in one request, not five.
    expect(producer.requests).toHaveLength(2);
    expect(producer.requests[1]!.messages).toHaveLength(2_500);
    const flushed = writer.flush();
    producer.requests[1]!.ack();
    await flushed;
    expect(producer.maxOpen).toBe(1);
    const offsets = producer.requests.flatMap((r) => r.messages.map(offsetOf));
    expect(offsets).toEqual(Array.from({ length: 3_000 }, (_, i) => i));
    expect(writer.pending).toBe(0);
  });

  it('caps a request at 5,000 records and under 1 MB', async () => {
    const producer = new HeldProducer();
    const writer = new RepartitionWriter('s', 'app.s.repartition', producer, 4);
    const big = 'x'.repeat(2_000);
    writer.add(record(0), 0, 0, -Infinity);
    for (let i = 1; i < 1_200; i++) writer.add(record(i, { pad: big }), i % 4, 0, -Infinity);
    const flushed = writer.flush();
    await producer.drain(() => writer.pending === 0);
    await flushed;
    const sizes = producer.requests.map((r) => r.messages.reduce((n, m) => n + (m.value?.length ?? 0) + (m.key?.length ?? 0), 0));
    expect(Math.max(...sizes)).toBeLessThan(1_000_000);
    expect(producer.requests.length).toBeGreaterThan(2);
    for (let i = 0; i < 8_000; i++) writer.add(record(2_000 + i), i % 4, 0, -Infinity);
    const flushed2 = writer.flush();
    await producer.drain(() => writer.pending === 0);
    await flushed2;
    expect(Math.max(...producer.requests.map((r) => r.messages.length))).toBe(5_000);
    expect(producer.requests.flatMap((r) => r.messages).length).toBe(9_200);
  });

  it('sends a small remainder after a short linger, without waiting for the checkpoint', async () => {
    const producer = new HeldProducer();
    const writer = new RepartitionWriter('s', 'app.s.repartition', producer, 4);
    for (let i = 0; i < 3; i++) writer.add(record(i), 1, 0, -Infinity);
    writer.mark(0, 5_000, false, 0);
    expect(producer.requests).toHaveLength(0);
    await tick(30);
    expect(producer.requests).toHaveLength(1);
    // Three records and a watermark marker per partition.
    expect(producer.requests[0]!.messages).toHaveLength(3 + 4);
    producer.requests[0]!.ack();
    await writer.flush();
  });

  it('holds the run loop back while too many records wait for acks, and lets it go at half', async () => {
    const producer = new HeldProducer();
    const writer = new RepartitionWriter('s', 'app.s.repartition', producer, 4);
    for (let i = 0; i < 19_999; i++) writer.add(record(i), i % 4, 0, -Infinity);
    expect(writer.backpressure).toBeUndefined();
    writer.add(record(19_999), 0, 0, -Infinity);
    const held = writer.backpressure;
    expect(held).toBeDefined();
    let released = false;
    void held!.then(() => (released = true));
    producer.requests[0]!.ack(); // 500 acked: 19,500 still pending
    await tick();
    expect(released).toBe(false);
    await producer.drain(() => released);
    expect(released).toBe(true);
    expect(writer.pending).toBeLessThanOrEqual(10_000);
    expect(writer.backpressure).toBeUndefined();
    const flushed = writer.flush();
    await producer.drain(() => writer.pending === 0);
    await flushed;
  });

  it('after a failed request sends nothing more, releases the run loop and fails the checkpoint', async () => {
    const producer = new HeldProducer();
    const writer = new RepartitionWriter('s', 'app.s.repartition', producer, 4);
    for (let i = 0; i < 20_000; i++) writer.add(record(i), i % 4, 0, -Infinity);
    const held = writer.backpressure;
    expect(held).toBeDefined();
    producer.requests[0]!.fail(new Error('NOT_ENOUGH_REPLICAS'));
    await held; // released, not hung
    for (let i = 20_000; i < 21_000; i++) writer.add(record(i), i % 4, 0, -Infinity);
    await tick(20);
    await expect(writer.flush()).rejects.toThrow(/repartition topic app\.s\.repartition: .*NOT_ENOUGH_REPLICAS/);
    // Only the failed request ever went out: no later record can land ahead of the lost ones.
    expect(producer.requests).toHaveLength(1);
    expect(writer.backpressure).toBeUndefined();
  });
});
