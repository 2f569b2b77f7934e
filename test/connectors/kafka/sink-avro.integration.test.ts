/**
 * The Kafka sink writing Confluent-framed Avro against the dev broker and a stand-in Schema
 * Registry: the schema is registered under `<topic>-value` (retried while the registry answers
 * 5xx), every record is magic byte 0 + that id + the Avro body, rows the schema cannot hold go to
 * the dead-letter output with the field named while the rest is written, and a registry that
 * refuses the schema fails the flush with the subject named (never the password).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTopicRaw } from '../../helpers/kafka-read.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaClient } from '../../../src/kafka/create-client.js';
import { KafkaSink } from '../../../src/connectors/kafka/sink.js';
import type { KafkaSinkConfig } from '../../../src/connectors/kafka/spec.js';
import type { SinkRecord } from '../../../src/connectors/types.js';
import { TributaryError } from '../../../src/core/errors.js';
import { createFormat } from '../../../src/formats/registry.js';
import { silentLogger } from '../../../src/core/logger.js';
import { uniqueName, useBroker, waitFor } from '../../helpers/broker.js';
import { startFakeRegistry, type FakeRegistry } from '../../helpers/schema-registry.js';

const dir = mkdtempSync(join(tmpdir(), 'trib-sink-avro-'));
const feature = {
  type: 'record',
  name: 'UserFeature',
  namespace: 'features',
  fields: [
    { name: 'user_id', type: 'string' },
    { name: 'window_start', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'txn_count', type: 'long' },
    { name: 'amount_sum', type: ['null', 'double'], default: null },
  ],
};
const schemaFile = join(dir, 'user_feature.avsc');
writeFileSync(schemaFile, JSON.stringify(feature, null, 2));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every message of the topic as raw bytes, read by platformatic's own consumer (an independent reader). */
async function readRaw(brokers: string[], topic: string, expected: number): Promise<Array<{ key: string; value: Buffer }>> {
  return (await readTopicRaw(brokers, topic, expected)).map((m) => ({ key: m.key!.toString(), value: m.value! }));
}

describe('kafka sink: avro in Confluent wire format, registered in a Schema Registry', () => {
  const broker = useBroker();
  let registry: FakeRegistry;
  const open: KafkaSink[] = [];
  beforeAll(async () => {
    registry = await startFakeRegistry({ firstId: 7001 });
  });
  afterAll(() => registry.close());
  afterEach(async () => {
    for (const sink of open.splice(0)) await sink.close();
  });

  async function topicWith(partitions: number): Promise<string> {
    const topic = uniqueName('features');
    const client = await createKafkaClient({ brokers: broker().brokers, clientId: 'sink-avro-admin' });
    try {
      await client.connect();
      await client.admin.createTopics([{ topic, partitions }]);
    } finally {
      await client.disconnect();
    }
    return topic;
  }

  async function openSink(topic: string, dead: Array<{ record: SinkRecord; reason: string }>): Promise<KafkaSink> {
    const config: KafkaSinkConfig = {
      brokers: broker().brokers.join(','),
      topic,
      format: { confluent: { schema: schemaFile, registry: { url: registry.url, username: 'feature-writer', password: 'sr-pa55word', timeout: 2000 } } },
      acks: 'all',
      compression: 'none',
    };
    const sink = new KafkaSink('features_out', config, { batchSize: 100, backoffMs: 10, maxBackoffMs: 50 });
    open.push(sink);
    await sink.open({ logger: silentLogger, deadLetter: (record, reason) => dead.push({ record, reason }) });
    return sink;
  }

  it('registers under <topic>-value, writes magic byte + id + avro, dead-letters what the schema cannot hold', async () => {
    const topic = await topicWith(2);
    const dead: Array<{ record: SinkRecord; reason: string }> = [];
    const sink = await openSink(topic, dead);
    // The registry is down for the first two attempts: the batch waits and retries, nothing is dead-lettered for it.
    registry.failNext.push(503, 502);
    const good: SinkRecord[] = Array.from({ length: 30 }, (_, i) => ({
      key: `u${i}`,
      value: { user_id: `u${i}`, window_start: 1_700_000_000_000 + i * 60_000, txn_count: i === 0 ? '9223372036854775807' : i, amount_sum: i % 3 === 0 ? null : i * 1.5 },
      timestamp: 1_700_000_000_000 + i,
    }));
    const missing: SinkRecord = { key: 'bad1', value: { user_id: 'bad1', window_start: 1, amount_sum: null }, timestamp: 1 };
    const wrongType: SinkRecord = { key: 'bad2', value: { user_id: 'bad2', window_start: 1, txn_count: 'many', amount_sum: null }, timestamp: 2 };
    for (const [i, r] of good.entries()) {
      if (i === 10) await sink.add(missing);
      if (i === 20) await sink.add(wrongType);
      await sink.add(r);
    }
    await sink.flush();

    expect(dead.map((d) => d.record.key)).toEqual(['bad1', 'bad2']);
    expect(dead[0]!.reason).toMatch(/cannot encode record: row does not match Avro schema features\.UserFeature: txn_count: expected long, got missing/);
    expect(dead[1]!.reason).toMatch(/txn_count: expected long, got "many"/);
    expect(sink.stats).toMatchObject({ written: 30, failures: 2 });

    const posts = registry.requests.filter((r) => r.method === 'POST');
    expect(posts.map((r) => r.url)).toEqual(Array(3).fill(`/subjects/${topic}-value/versions`));
    expect(JSON.parse(posts[2]!.body)).toEqual({ schema: JSON.stringify(feature) });
    expect(posts[2]!.authorization).toBe(`Basic ${Buffer.from('feature-writer:sr-pa55word').toString('base64')}`);
    expect(registry.subjects.get(`${topic}-value`)).toEqual([7001]);

    const got = await readRaw(broker().brokers, topic, 30);
    expect(got).toHaveLength(30);
    // What a Java consumer with KafkaAvroDeserializer reads: magic 0, the id big-endian, then Avro.
    for (const m of got) {
      expect(m.value[0]).toBe(0);
      expect(m.value.readUInt32BE(1)).toBe(7001);
    }
    // Read back as a source would: the confluent format looks the id up in the registry.
    const reader = createFormat({ type: 'confluent-avro', registry: { url: registry.url } });
    await reader.prepare?.(got.map((m) => m.value));
    const rows = new Map(got.map((m) => [m.key, reader.decode(m.value)]));
    expect(rows).toEqual(new Map(good.map((r) => [r.key as string, r.value])));
  });

  it('a registry that refuses the schema fails the flush naming the subject, never the password; nothing is written', async () => {
    const topic = await topicWith(1);
    registry.incompatible.add(`${topic}-value`);
    const dead: Array<{ record: SinkRecord; reason: string }> = [];
    const sink = await openSink(topic, dead);
    await sink.add({ key: 'u1', value: { user_id: 'u1', window_start: 1, txn_count: 1, amount_sum: null }, timestamp: 1 });
    let err: unknown;
    try {
      await sink.flush();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TributaryError);
    const message = (err as TributaryError).message;
    expect((err as TributaryError).code).toBe('TRIB_SINK');
    expect(message).toMatch(new RegExp(`failed after 1 attempt\\(s\\): kafka sink 'features_out': value format confluent-avro: .*HTTP 409 registering .* under subject '${topic}-value'`));
    expect(message).not.toMatch(/sr-pa55word|feature-writer/);
    expect(dead).toEqual([]);
    expect(sink.stats.written).toBe(0);
  });
});
