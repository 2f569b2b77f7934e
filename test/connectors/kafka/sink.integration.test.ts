import { afterEach, describe, expect, it } from 'vitest';
import { createKafkaClient } from '../../../src/kafka/create-client.js';
import type { KafkaClient } from '../../../src/kafka/client.js';
import { KafkaSink, type KafkaSinkOptions } from '../../../src/connectors/kafka/sink.js';
import type { KafkaSinkConfig } from '../../../src/connectors/kafka/spec.js';
import type { SinkRecord } from '../../../src/connectors/types.js';
import { TributaryError } from '../../../src/core/errors.js';
import { silentLogger } from '../../../src/core/logger.js';
import { partitionForKey } from '../../../src/core/partitioner.js';
import { uniqueName, useBroker, waitFor, type TestBroker } from '../../helpers/broker.js';
import { readTopicRaw } from '../../helpers/kafka-read.js';

interface ReadBack {
  partition: number;
  offset: string;
  key: string | null;
  value: unknown;
  headers: Record<string, string>;
  timestamp: number;
}

/** Everything in the topic, read by platformatic's own consumer (not our fetch path: an independent check). */
async function readTopic(brokers: string[], topic: string, expected: number): Promise<ReadBack[]> {
  return (await readTopicRaw(brokers, topic, expected)).map((m) => ({
    partition: m.partition,
    offset: String(m.offset),
    key: m.key === null ? null : m.key.toString(),
    value: m.value === null ? null : JSON.parse(m.value.toString()),
    headers: m.headers,
    timestamp: m.timestamp,
  }));
}

function rec(i: number, extra: Record<string, string | number | null> = {}): SinkRecord {
  return { key: `k${i}`, value: { user_id: `u${i % 7}`, n: i, ...extra }, timestamp: 1_700_000_000_000 + i };
}

describe('kafka sink against the dev broker', () => {
  const broker = useBroker();
  const open: Array<KafkaSink | KafkaClient> = [];
  afterEach(async () => {
    for (const x of open.splice(0)) await ('written' in x ? x.close() : x.disconnect());
  });

  async function admin(b: TestBroker): Promise<KafkaClient> {
    const client = await createKafkaClient({ brokers: b.brokers, clientId: 'sink-test-admin' });
    open.push(client);
    await client.connect();
    return client;
  }

  async function topicWith(partitions: number): Promise<string> {
    const topic = uniqueName('out');
    await (await admin(broker())).admin.createTopics([{ topic, partitions }]);
    return topic;
  }

  async function openSink(
    config: Partial<KafkaSinkConfig> & { topic: string },
    options: KafkaSinkOptions = {},
    dead: Array<{ record: SinkRecord; reason: string }> = [],
  ): Promise<KafkaSink> {
    const full: KafkaSinkConfig = { brokers: broker().brokers.join(','), format: 'json', acks: 'all', compression: 'none', ...config };
    const sink = new KafkaSink('out', full, { batchSize: 50, ...options });
    open.push(sink);
    await sink.open({ logger: silentLogger, deadLetter: (record, reason) => dead.push({ record, reason }) });
    return sink;
  }

  it('writes keys, values, headers and timestamps; the default partitioner is murmur2 of the key', async () => {
    const topic = await topicWith(3);
    const sink = await openSink({ topic, key: '{user_id}:{n}', headers: { 'x-user': '{user_id}', 'x-rec': '{key}' } });
    for (let i = 0; i < 40; i++) await sink.add(rec(i));
    await sink.flush();

    const got = await readTopic(broker().brokers, topic, 40);
    expect(got).toHaveLength(40);
    const byN = new Map(got.map((r) => [(r.value as { n: number }).n, r]));
    for (let i = 0; i < 40; i++) {
      const r = byN.get(i)!;
      const key = `u${i % 7}:${i}`;
      expect(r.key).toBe(key);
      expect(r.value).toEqual({ user_id: `u${i % 7}`, n: i });
      expect(r.headers).toEqual({ 'x-user': `u${i % 7}`, 'x-rec': `k${i}` });
      expect(r.timestamp).toBe(1_700_000_000_000 + i);
      expect(r.partition).toBe(partitionForKey(Buffer.from(key), 3));
    }
    // Per-partition order is add() order.
    for (let p = 0; p < 3; p++) {
      const ns = got.filter((r) => r.partition === p).sort((a, b) => Number(a.offset) - Number(b.offset)).map((r) => (r.value as { n: number }).n);
      expect(ns).toEqual([...ns].sort((a, b) => a - b));
    }
    expect(sink.stats).toMatchObject({ written: 40, failures: 0 });
  });

  it('values are the bytes of JSON.stringify, keys UTF-8 (also beyond ASCII), fixed headers on every message', async () => {
    const topic = await topicWith(2);
    const sink = await openSink({ topic, key: '{key}', headers: { 'x-app': 'features-v1', 'x-brace': '{{literal}}' } });
    const rows = [
      { key: 'u1', window_start: 1_793_000_040_000, as_of: -0, emit: 'update', cnt: 3, amt: 1234.5, nan: NaN, inf: -Infinity },
      { key: '张三😀', text: 'quote " back \\ nl \n ctl \u0001 del \u007f', lone: 'a\ud800b', big: 2 ** 53, tiny: 5e-324 },
      { key: 'u3', nested: { a: [1, { b: null }, true], e: {} }, gone: undefined, order: { b: 1, 2: 2, a: 3, 1: 4 } },
    ];
    // Every fifth has no usable event time: the message then carries the send time.
    const stamp = (i: number): number => (i % 5 === 0 ? NaN : 1_700_000_000_000 + i);
    const before = Date.now();
    for (let i = 0; i < 30; i++) await sink.add({ key: `${rows[i % 3]!.key}-${i}`, value: { ...rows[i % 3], i } as never, timestamp: stamp(i) });
    await sink.flush();
    const after = Date.now();
    const got = await readTopicRaw(broker().brokers, topic, 30);
    expect(got).toHaveLength(30);
    for (const m of got) {
      const i = (JSON.parse(m.value!.toString('utf8')) as { i: number }).i;
      expect(m.value!.equals(Buffer.from(JSON.stringify({ ...rows[i % 3], i }), 'utf8'))).toBe(true);
      expect(m.key!.equals(Buffer.from(`${rows[i % 3]!.key}-${i}`, 'utf8'))).toBe(true);
      expect(m.headers).toEqual({ 'x-app': 'features-v1', 'x-brace': '{literal}' });
      if (i % 5 === 0) {
        expect(m.timestamp).toBeGreaterThanOrEqual(before);
        expect(m.timestamp).toBeLessThanOrEqual(after);
      } else expect(m.timestamp).toBe(stamp(i));
    }
  });

  it('without a key template the record key is the message key; flush resolves only once the broker holds everything', async () => {
    const topic = await topicWith(2);
    const sink = await openSink({ topic, acks: 'all' }, { batchSize: 7 });
    for (let i = 0; i < 25; i++) await sink.add(rec(i));
    await sink.flush();
    // No consumer wait: right after flush the log end offsets already count every record.
    const offsets = await (await admin(broker())).admin.listOffsets(topic);
    expect(offsets.reduce((n, o) => n + Number(o.latest - o.earliest), 0)).toBe(25);
    const got = await readTopic(broker().brokers, topic, 25);
    for (const r of got) expect(r.partition).toBe(partitionForKey(Buffer.from(r.key!), 2));
    expect(new Set(got.map((r) => r.key))).toEqual(new Set(Array.from({ length: 25 }, (_, i) => `k${i}`)));
  });

  it('linger from the config produces a partial batch without a flush', async () => {
    const topic = await topicWith(1);
    const sink = await openSink({ topic, linger: 5 });
    for (let i = 0; i < 3; i++) await sink.add(rec(i));
    await waitFor(() => (sink.written === 3 ? true : undefined), 10_000, () => `written ${sink.written}/3 without a flush`);
    expect((await readTopic(broker().brokers, topic, 3)).map((r) => r.key)).toEqual(['k0', 'k1', 'k2']);
  });

  it('acks=1 writes too', async () => {
    const topic = await topicWith(1);
    const sink = await openSink({ topic, acks: '1', compression: 'gzip' });
    for (let i = 0; i < 5; i++) await sink.add(rec(i));
    await sink.flush();
    expect((await readTopic(broker().brokers, topic, 5)).map((r) => r.key).sort()).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
  });

  it('sends a record whose key cannot be built to the dead-letter callback and writes the rest', async () => {
    const topic = await topicWith(2);
    const dead: Array<{ record: SinkRecord; reason: string }> = [];
    const sink = await openSink({ topic, key: '{user_id}' }, {}, dead);
    await sink.add(rec(1));
    await sink.add(rec(2, { user_id: null }));
    await sink.add({ key: 'k3', value: { n: 3 }, timestamp: 1 });
    await sink.add(rec(4));
    await sink.flush();
    expect(dead.map((d) => d.record.value.n)).toEqual([2, 3]);
    expect(dead[0]!.reason).toMatch(/kafka sink 'out': cannot encode record: template field 'user_id' is null/);
    expect(dead[1]!.reason).toMatch(/'user_id' is missing/);
    const got = await readTopic(broker().brokers, topic, 2);
    expect(got.map((r) => (r.value as { n: number }).n).sort()).toEqual([1, 4]);
    expect(sink.stats).toMatchObject({ written: 2, failures: 2 });
  });

  it('a stopped broker fails flush with a retriable cause after the retries; after a restart a later flush loses nothing', async () => {
    const topic = await topicWith(2);
    const sink = await openSink(
      { topic },
      { maxRetries: 2, backoffMs: 20, maxBackoffMs: 50, client: { retries: 0, connectionTimeoutMs: 300, requestTimeoutMs: 1_000, retryTimeoutMs: 0 } },
    );
    for (let i = 0; i < 5; i++) await sink.add(rec(i));
    await sink.flush();

    await broker().handle.close();
    for (let i = 5; i < 12; i++) await sink.add(rec(i));
    const failed = await sink.flush().then(() => undefined, (err: unknown) => err);
    expect(failed).toBeInstanceOf(TributaryError);
    expect((failed as TributaryError).message).toMatch(/after 3 attempt\(s\)/);
    const cause = (failed as TributaryError).cause;
    expect(cause).toBeInstanceOf(TributaryError);
    expect((cause as TributaryError).retriable).toBe(true);
    expect(sink.stats.retries).toBe(2);
    expect(sink.buffered).toBe(7);

    await broker().restart();
    await sink.flush();
    const got = await readTopic(broker().brokers, topic, 12);
    expect(got.map((r) => (r.value as { n: number }).n).sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i));
  }, 30_000);

  it('a batch larger than one produce request (~1 MB to one partition) goes out in several, in order', async () => {
    const topic = await topicWith(1);
    // 3 000 records of ~1 KB: one request would be a 3 MB batch, over the broker's max.message.bytes.
    const sink = await openSink({ topic }, { batchSize: 3_000 });
    const pad = 'x'.repeat(1_000);
    for (let i = 0; i < 3_000; i++) await sink.add(rec(i, { pad }));
    await sink.flush();
    expect(sink.stats).toMatchObject({ written: 3_000, failures: 0, retries: 0 });
    const got = await readTopic(broker().brokers, topic, 3_000);
    const ns = got.sort((a, b) => Number(a.offset) - Number(b.offset)).map((r) => (r.value as { n: number }).n);
    expect(ns).toEqual(Array.from({ length: 3_000 }, (_, i) => i));
  });
});
